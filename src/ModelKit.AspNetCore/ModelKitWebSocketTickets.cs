using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;

namespace ModelKit.AspNetCore;

/// <summary>
/// One-time tickets for WebSockets opened by browsers, which cannot set <c>X-API-Key</c> or <c>Authorization</c> on a
/// WebSocket: a client with a key asks <c>POST /api/ws/ticket</c> for a ticket and connects with <c>?ticket=…</c>. A
/// ticket carries its key's name and scopes, works once, only for a WebSocket upgrade, and expires after
/// <see cref="Lifetime"/>; the key itself never appears in a URL.
/// </summary>
internal sealed class ModelKitWebSocketTickets(TimeProvider time)
{
    /// <summary>How long a ticket may wait to be used.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(60);

    private const int MaxOutstanding = 10_000;
    private readonly ConcurrentDictionary<string, (ClaimsPrincipal User, DateTimeOffset Expires)> _tickets = new(StringComparer.Ordinal);

    public (string Ticket, DateTimeOffset Expires) Issue(ClaimsPrincipal user)
    {
        var now = time.GetUtcNow();
        if (_tickets.Count >= MaxOutstanding / 2)
        {
            foreach (var (key, value) in _tickets)
            {
                if (value.Expires <= now) _tickets.TryRemove(key, out _);
            }
        }

        if (_tickets.Count >= MaxOutstanding) throw new QueueFullException("Too many WebSocket tickets are waiting to be used; retry in a minute.", Lifetime);
        var ticket = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var expires = now + Lifetime;
        _tickets[ticket] = (user, expires);
        return (ticket, expires);
    }

    /// <summary>The ticket's user, once: a redeemed or expired ticket is gone.</summary>
    public ClaimsPrincipal? Redeem(string ticket) =>
        _tickets.TryRemove(ticket, out var entry) && entry.Expires > time.GetUtcNow() ? entry.User : null;
}
