using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>
/// Failed authentications per client address, in a fixed one-minute window that starts at the address's first
/// failure (<see cref="ModelKitAuthOptions.FailedAttemptsPerMinute"/>). An address that has spent its failures is refused
/// until the window ends, whatever key it sends next.
/// </summary>
internal sealed class ModelKitAuthThrottle : IDisposable
{
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private readonly PartitionedRateLimiter<string>? _failures;

    public ModelKitAuthThrottle(IOptions<ModelKitAuthOptions> options)
    {
        var limit = options.Value.FailedAttemptsPerMinute;
        if (limit <= 0) return;
        _failures = PartitionedRateLimiter.Create<string, string>(address => RateLimitPartition.GetFixedWindowLimiter(address,
            _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = Window, QueueLimit = 0 }));
    }

    // When the last failure was counted (Environment.TickCount64); long.MinValue / 2 before the first.
    private long _lastFailure = long.MinValue / 2;

    /// <summary>True while <paramref name="context"/>'s address has no failed attempts left.</summary>
    public bool IsBlocked(HttpContext context)
    {
        // An address's failures count in a one-minute window and are forgiven when it ends: with no failure anywhere for
        // longer than that, no address can be blocked, and the request's address need not be looked up.
        if (_failures is null || Environment.TickCount64 - Volatile.Read(ref _lastFailure) > (long)Window.TotalMilliseconds + 1_000) return false;
        return _failures.GetStatistics(Address(context))?.CurrentAvailablePermits == 0;
    }

    /// <summary>
    /// Counts a failed attempt of <paramref name="context"/>'s address: true when it was within the address's failures,
    /// false when they were spent meanwhile (then answer as throttled, not with the check's result). The count is one
    /// atomic step, so of a burst of parallel wrong keys exactly the failures left are answered; the rest learn nothing.
    /// </summary>
    public bool TryCountFailure(HttpContext context)
    {
        if (_failures is null) return true;
        Volatile.Write(ref _lastFailure, Environment.TickCount64);
        using var lease = _failures.AttemptAcquire(Address(context));
        return lease.IsAcquired;
    }

    private static string Address(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    public void Dispose() => _failures?.Dispose();
}
