using System.Security.Cryptography;
using System.Text;

namespace ModelKit.AspNetCore;

/// <summary>
/// Seed 002's <c>uuid</c>: a name-based UUID (RFC 9562 version 5, SHA-1) of the model id in ModelKit's own namespace, so
/// the same id has the same uuid on every server and across restarts, and nothing has to be stored for it.
/// </summary>
internal static class ModelUuid
{
    /// <summary>ModelKit's namespace for model ids (a fixed random UUID).</summary>
    public static readonly Guid Namespace = new("826fcbc4-72e4-4026-a73a-fe0474f6a3c1");

    /// <summary>The uuid of <paramref name="modelId"/>.</summary>
    public static Guid Of(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        var name = Encoding.UTF8.GetBytes(modelId);
        var input = new byte[16 + name.Length];
        Namespace.TryWriteBytes(input, bigEndian: true, out _);
        name.CopyTo(input, 16);
#pragma warning disable CA5350 // SHA-1 is what RFC 9562 prescribes for version 5 UUIDs; it names, it does not protect.
        var hash = SHA1.HashData(input);
#pragma warning restore CA5350
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC variant
        return new Guid(hash.AsSpan(0, 16), bigEndian: true);
    }
}
