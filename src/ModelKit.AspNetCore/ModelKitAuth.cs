using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>The scopes an API key can hold. <c>manage</c> includes the other two.</summary>
public static class ModelKitScopes
{
    /// <summary>Read models, deployments, statistics and cache state.</summary>
    public const string Read = "read";
    /// <summary>Run inference (sync, batch, async jobs).</summary>
    public const string Infer = "infer";
    /// <summary>Change things: register, upload, deploy, scale, update, delete, cache configuration.</summary>
    public const string Manage = "manage";

    internal static string Policy(string scope) => "modelkit:" + scope;
}

/// <summary>One API key from configuration.</summary>
public sealed class ModelKitApiKey
{
    /// <summary>A name for logs and rate limiting (the key itself is never logged).</summary>
    public string Name { get; set; } = string.Empty;
    /// <summary>The secret, sent as <c>X-API-Key: …</c> or <c>Authorization: Bearer …</c>.</summary>
    public string Key { get; set; } = string.Empty;
    /// <summary>Scopes: <c>read</c>, <c>infer</c>, <c>manage</c> (which includes the others). At least one is required.</summary>
    public List<string> Scopes { get; set; } = [];
    /// <summary>Requests per minute for this key; <see cref="ModelKitAuthOptions.RequestsPerMinute"/> when null.</summary>
    public int? RequestsPerMinute { get; set; }
}

/// <summary>Authentication, scopes and rate limits of ModelKit's endpoints (section <c>ModelKit:Auth</c> in the sample).</summary>
public sealed class ModelKitAuthOptions
{
    /// <summary>Require an API key. Turning it off must be explicit: <c>Enabled = false</c>. Default: true.</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>The accepted keys.</summary>
    public List<ModelKitApiKey> Keys { get; set; } = [];
    /// <summary>Requests per minute per key (per client address when auth is off); 0 turns rate limiting off. Default: 6000.</summary>
    public int RequestsPerMinute { get; set; } = 6000;
}

/// <summary>Limits of the HTTP surface (section <c>ModelKit:Http</c> in the sample).</summary>
public sealed class ModelKitHttpOptions
{
    /// <summary>The largest JSON request body; larger ones get 413 PAYLOAD_TOO_LARGE. Uploads are bounded by ModelKitOptions.MaxArtifactBytes instead. Default: 64 MiB.</summary>
    public long MaxJsonBodyBytes { get; set; } = 64L << 20;
}

/// <summary>Accepts <c>X-API-Key</c> or <c>Authorization: Bearer</c>; compares in constant time; never logs a key.</summary>
/// <summary>The configured keys' SHA-256 digests, computed once (the handler is created per request).</summary>
internal sealed class ModelKitApiKeyDigests(IOptions<ModelKitAuthOptions> auth)
{
    public IReadOnlyList<(byte[] Digest, ModelKitApiKey Key)> Keys { get; } =
        [.. auth.Value.Keys.Select(k => (SHA256.HashData(Encoding.UTF8.GetBytes(k.Key)), k))];
}

internal sealed partial class ModelKitApiKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ModelKitApiKeyDigests keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ModelKitApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented = null;
        if (Request.Headers.TryGetValue("X-API-Key", out var header) && header.Count > 0) presented = header[0];
        else if (Request.Headers.Authorization is { Count: > 0 } authorization && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = value["Bearer ".Length..].Trim();
        }

        if (string.IsNullOrEmpty(presented)) return Task.FromResult(AuthenticateResult.NoResult());
        var presentedHash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ModelKitApiKey? match = null;
        foreach (var (digest, key) in keys.Keys)
        {
            // Every key is compared (no early exit), each in constant time over equal-length hashes.
            if (CryptographicOperations.FixedTimeEquals(presentedHash, digest)) match ??= key;
        }

        if (match is null)
        {
            LogRejected(Logger, Request.Path);
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, match.Name) };
        foreach (var scope in match.Scopes) claims.Add(new Claim("scope", scope));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return ModelKitProblems.Problem(Context, ModelKitProblems.Unauthorized,
            "An API key is required: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'.").ExecuteAsync(Context);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ModelKitProblems.Problem(Context, ModelKitProblems.Forbidden, "The API key does not have the scope this endpoint needs.").ExecuteAsync(Context);

    [LoggerMessage(1, LogLevel.Warning, "Rejected an invalid API key on {Path}.")]
    private static partial void LogRejected(ILogger logger, PathString path);
}

/// <summary>A fixed one-minute window per key (or per client address when auth is off).</summary>
internal sealed class ModelKitRateLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<HttpContext>? _limiter;

    public ModelKitRateLimiter(IOptions<ModelKitAuthOptions> options)
    {
        var auth = options.Value;
        if (auth.RequestsPerMinute <= 0 && auth.Keys.All(k => k.RequestsPerMinute is null or <= 0)) return;
        var perKey = auth.Keys.ToDictionary(k => k.Name, k => k.RequestsPerMinute ?? auth.RequestsPerMinute, StringComparer.Ordinal);
        _limiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
        {
            // A key's budget is keyed by its name (no allocation); only anonymous callers (auth off) are keyed by address.
            var name = context.User.Identity is { IsAuthenticated: true, Name: { } keyName } ? keyName : "ip:" + context.Connection.RemoteIpAddress;
            var limit = context.User.Identity?.Name is { } n && perKey.TryGetValue(n, out var l) ? l : auth.RequestsPerMinute;
            return limit <= 0
                ? RateLimitPartition.GetNoLimiter(name)
                : RateLimitPartition.GetFixedWindowLimiter(name, _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
        });
    }

    /// <summary>Takes one request from the caller's budget; RATE_LIMITED when it is spent.</summary>
    public void Acquire(HttpContext context)
    {
        if (_limiter is null) return;
        using var lease = _limiter.AttemptAcquire(context);
        if (lease.IsAcquired) return;
        throw new RateLimitedException("Too many requests for this API key; retry after the Retry-After interval.",
            lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(60));
    }

    public void Dispose() => _limiter?.Dispose();
}
