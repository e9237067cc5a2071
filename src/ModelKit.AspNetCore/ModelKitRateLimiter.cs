using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>
/// A fixed one-minute window per key (or per client address when auth is off). The limits follow the configuration: when
/// <c>ModelKit:Auth</c> changes (a key added, a limit changed), the next request is counted against the new limits.
/// </summary>
internal sealed class ModelKitRateLimiter : IDisposable
{
    private readonly IDisposable? _subscription;
    private volatile PartitionedRateLimiter<HttpContext>? _limiter;

    // A partition: the key's name (or the anonymous caller's address) with its limit, so that the limiter factory below
    // captures nothing and is not allocated again per request. Its windows are replenished by the partitioned limiter's own
    // timer (AutoReplenishment off), not one timer per partition.
    private readonly record struct Budget(string Name, int Limit);

    public ModelKitRateLimiter(IOptionsMonitor<ModelKitAuthOptions> options)
    {
        _limiter = Create(options.CurrentValue);
        _subscription = options.OnChange(auth =>
        {
            var previous = _limiter;
            _limiter = Create(auth);
            previous?.Dispose(); // a request holding no lease of it: leases are released at once (AttemptAcquire)
        });
    }

    private static PartitionedRateLimiter<HttpContext>? Create(ModelKitAuthOptions auth)
    {
        if (auth.RequestsPerMinute <= 0 && auth.Keys.All(k => k.RequestsPerMinute is null or <= 0)) return null;
        var perKey = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var key in auth.Keys) perKey[key.Name] = key.RequestsPerMinute ?? auth.RequestsPerMinute;
        var defaultLimit = auth.RequestsPerMinute;
        return PartitionedRateLimiter.Create<HttpContext, Budget>(context =>
        {
            // A key's budget is keyed by its name (no allocation); only anonymous callers (auth off) are keyed by address.
            // (ClaimsPrincipal.Identity enumerates the identities each time it is read: once here.)
            var identity = context.User.Identity;
            var name = identity is { IsAuthenticated: true, Name: { } keyName } ? keyName : "ip:" + context.Connection.RemoteIpAddress;
            var limit = identity?.Name is { } n && perKey.TryGetValue(n, out var l) ? l : defaultLimit;
            return limit <= 0
                ? RateLimitPartition.GetNoLimiter(new Budget(name, 0))
                : RateLimitPartition.Get(new Budget(name, limit), static budget => new FixedWindowRateLimiter(
                    new FixedWindowRateLimiterOptions { PermitLimit = budget.Limit, Window = TimeSpan.FromMinutes(1), QueueLimit = 0, AutoReplenishment = false }));
        });
    }

    /// <summary>Takes one request from the caller's budget; RATE_LIMITED when it is spent.</summary>
    public void Acquire(HttpContext context)
    {
        if (_limiter is not { } limiter) return;
        RateLimitLease lease;
        try
        {
            lease = limiter.AttemptAcquire(context);
        }
        catch (ObjectDisposedException)
        {
            return; // replaced by a configuration change this instant: the request is let through, the next one counts
        }

        using (lease)
        {
            if (lease.IsAcquired) return;
            throw new RateLimitedException("Too many requests for this API key; retry after the Retry-After interval.",
                lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? after : TimeSpan.FromSeconds(60));
        }
    }

    public void Dispose()
    {
        _subscription?.Dispose();
        _limiter?.Dispose();
    }
}
