using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

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
