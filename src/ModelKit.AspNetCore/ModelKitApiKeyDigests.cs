using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>Accepts <c>X-API-Key</c> or <c>Authorization: Bearer</c>; compares in constant time; never logs a key.</summary>
/// <summary>The configured keys' SHA-256 digests, computed once (the handler is created per request).</summary>
internal sealed class ModelKitApiKeyDigests(IOptions<ModelKitAuthOptions> auth)
{
    public IReadOnlyList<(byte[] Digest, ModelKitApiKey Key)> Keys { get; } =
        [.. auth.Value.Keys.Select(k => (SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)), k))];
}
