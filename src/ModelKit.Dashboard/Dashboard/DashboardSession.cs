using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;

namespace ModelKit.Dashboard;

/// <summary>Who is looking at the dashboard: the key's name, and whether it may act (manage) as well as read.</summary>
internal sealed record DashboardUser(string Name, bool CanManage);

/// <summary>
/// The dashboard's login: a key with the read scope, given once in the login form, is kept as a session cookie
/// (HttpOnly, SameSite=Strict, Secure on HTTPS, no expiry date, so it ends with the browser session). The cookie holds
/// the key's SHA-256 digest, encrypted and signed by ASP.NET Core Data Protection with an end time, never the key itself:
/// each request looks the digest up among the keys configured now, so a rotated-out key ends its sessions at once.
/// Each session also has a random id: signing out records it as ended until the session's end time, so a copy of the
/// cookie taken before is refused too (the record is this process's: see docs/dashboard.md).
/// With ModelKit's auth turned off (<c>Auth:Enabled = false</c>) the dashboard is open, as the APIs are.
/// </summary>
internal sealed class DashboardSession(
    IDataProtectionProvider protection, ModelKitApiKeyDigests keys, IOptionsMonitor<ModelKitAuthOptions> auth, IOptions<ModelKitDashboardOptions> options)
{
    public const string CookieName = "modelkit_dashboard";

    private const int DigestLength = 32; // SHA-256
    private const int IdLength = 16;

    private readonly ITimeLimitedDataProtector _protector = protection.CreateProtector("ModelKit.Dashboard.Session.v2").ToTimeLimitedDataProtector();

    // Sessions signed out before their end time: id → end time (then the cookie is refused by its own expiry). Swept
    // of expired ids at most once a minute, and held to MaxEnded entries (the ones ending soonest go first).
    private const int MaxEnded = 100_000;
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _ended = new(StringComparer.Ordinal);
    private readonly Lock _sweeping = new();
    private DateTimeOffset _swept = DateTimeOffset.MinValue;

    /// <summary>Whether a key is asked for at all.</summary>
    public bool Required => auth.CurrentValue.Enabled;

    /// <summary>The user of the request's cookie, or the anonymous operator when auth is off; null when it must log in.</summary>
    public DashboardUser? Current(HttpContext context)
    {
        if (!Required) return new DashboardUser("anonymous", CanManage: true);
        if (Read(context) is not var (digest, id, _) || _ended.ContainsKey(id)) return null;

        // The key as configured now: gone (rotated out) or without the read scope any more, the session is over.
        return keys.Find(digest) is { } key && HasScope(key, ModelKitScopes.Read) ? UserOf(key) : null;
    }

    // The request's session cookie: the key's digest, the session's id and its end time; null when there is none, or it
    // expired, was tampered with, or comes from another key ring.
    private (byte[] Digest, string Id, DateTimeOffset Ends)? Read(HttpContext context)
    {
        if (!context.Request.Cookies.TryGetValue(CookieName, out var cookie) || string.IsNullOrEmpty(cookie)) return null;
        try
        {
            var payload = _protector.Unprotect(Convert.FromBase64String(cookie), out var ends);
            if (payload.Length != DigestLength + IdLength) return null;
            return (payload[..DigestLength], Convert.ToHexString(payload, DigestLength, IdLength), ends);
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// Checks a key typed into the login form. The answer: the user, or why not, and whether the key is a configured one
    /// (a configured key without the read scope is not allowed; it is not a wrong guess).
    /// </summary>
    public (DashboardUser? User, string? Problem, bool Known) Check(string? presented)
    {
        if (string.IsNullOrWhiteSpace(presented)) return (null, "Enter an API key.", false);
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(presented.Trim()));
        if (keys.Find(digest) is not { } key) return (null, "That API key is not valid.", false);
        if (!HasScope(key, ModelKitScopes.Read)) return (null, "That API key does not have the read scope the dashboard needs.", true);
        return (UserOf(key), null, true);
    }

    /// <summary>Starts a session for the key whose digest matched in <see cref="Check"/>; a session the browser held before ends.</summary>
    public void SignIn(HttpContext context, string presented)
    {
        End(context);
        var payload = new byte[DigestLength + IdLength];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented.Trim()), payload);
        RandomNumberGenerator.Fill(payload.AsSpan(DigestLength));
        var value = Convert.ToBase64String(_protector.Protect(payload, DateTimeOffset.UtcNow + options.Value.SessionLifetime));
        context.Response.Cookies.Append(CookieName, value, CookieOptions(context));
    }

    /// <summary>Ends the request's session: its id is refused from now on (whoever holds a copy of the cookie), and the cookie is cleared.</summary>
    public void SignOut(HttpContext context)
    {
        End(context);
        context.Response.Cookies.Delete(CookieName, CookieOptions(context));
    }

    private void End(HttpContext context)
    {
        if (Read(context) is not var (_, id, ends)) return;
        _ended[id] = ends;
        var now = DateTimeOffset.UtcNow;
        lock (_sweeping)
        {
            if (now - _swept < SweepInterval && _ended.Count <= MaxEnded) return;
            _swept = now;
            // Forget the sessions whose cookies have expired by themselves: the record holds only sessions still running.
            foreach (var (old, end) in _ended)
            {
                if (end <= now) _ended.TryRemove(old, out _);
            }

            // Still too many (someone signing in and out in a loop with a valid key): the sessions ending soonest are
            // forgotten first, so memory stays bounded.
            if (_ended.Count > MaxEnded)
            {
                foreach (var (old, _) in _ended.OrderBy(e => e.Value).Take(_ended.Count - MaxEnded * 9 / 10).ToList()) _ended.TryRemove(old, out _);
            }
        }
    }

    private static CookieOptions CookieOptions(HttpContext context) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        Path = context.Request.PathBase.Add(DashboardEndpoints.PrefixOf(context)).Value is { Length: > 0 } path ? path : "/",
        IsEssential = true,
    };

    private static DashboardUser UserOf(ModelKitApiKey key) => new(key.Name, HasScope(key, ModelKitScopes.Manage));

    private static bool HasScope(ModelKitApiKey key, string scope) => key.Scopes.Any(held => ModelKitScopes.Grants(held, scope));
}
