using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>
/// The configured keys' SHA-256 digests (the handler is created per request, the digests once per configuration):
/// recomputed when the options change, so keys can be rotated by editing the configuration, without a restart, where
/// the options are bound to a reloading source (the sample binds <c>ModelKit:Auth</c>).
/// </summary>
internal sealed partial class ModelKitApiKeyDigests : IDisposable
{
    private readonly IDisposable? _subscription;
    private readonly ILogger _logger;
    private volatile IReadOnlyList<(byte[] Digest, ModelKitApiKey Key)> _keys;

    public ModelKitApiKeyDigests(IOptionsMonitor<ModelKitAuthOptions> auth, ILogger<ModelKitApiKeyDigests>? logger = null)
    {
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _keys = Compute(auth.CurrentValue);
        _subscription = auth.OnChange(options => _keys = Compute(options));
    }

    public IReadOnlyList<(byte[] Digest, ModelKitApiKey Key)> Keys => _keys;

    /// <summary>
    /// The configured key whose SHA-256 digest is <paramref name="digest"/>, or null. Every key is compared (no early
    /// exit), each in constant time over equal-length digests.
    /// </summary>
    public ModelKitApiKey? Find(ReadOnlySpan<byte> digest)
    {
        ModelKitApiKey? match = null;
        foreach (var (known, key) in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(digest, known)) match ??= key;
        }

        return match;
    }

    // Keys with a problem (only a change after start can bring one: the start itself fails on them) are left out.
    private List<(byte[] Digest, ModelKitApiKey Key)> Compute(ModelKitAuthOptions options)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var keys = new List<(byte[] Digest, ModelKitApiKey Key)>(options.Keys.Count);
        for (var i = 0; i < options.Keys.Count; i++)
        {
            var problems = ModelKitAuthOptionsValidator.KeyProblems(options.Keys[i], i, names).ToList();
            if (problems.Count > 0)
            {
                LogKeyIgnored(_logger, string.Join(" ", problems));
                continue;
            }

            keys.Add((SHA256.HashData(Encoding.UTF8.GetBytes(options.Keys[i].Key)), options.Keys[i]));
        }

        return keys;
    }

    [LoggerMessage(2, LogLevel.Error, "An API key from the changed configuration is not used: {Problems}")]
    private static partial void LogKeyIgnored(ILogger logger, string problems);

    public void Dispose() => _subscription?.Dispose();
}
