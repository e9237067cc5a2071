using System.Buffers;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ModelKit.AspNetCore;

/// <summary>
/// Checks ModelKit's API keys: <c>X-API-Key</c>, <c>Authorization: Bearer</c>, or a WebSocket's one-time ticket. Both the
/// authentication handler (for a host app's own endpoints and gRPC) and ModelKit's own surfaces (in their endpoint filter,
/// without ASP.NET's authorization pipeline per request) call it. A failure is remembered on the request, so that it is
/// counted once against the client's address and answered with its reason.
/// </summary>
internal sealed partial class ModelKitKeyAuthenticator(
    ModelKitApiKeyDigests keys, ModelKitAuthThrottle throttle, ModelKitWebSocketTickets tickets, ILogger<ModelKitKeyAuthenticator> logger)
{
    /// <summary>The authentication scheme, and the authentication type of the identities made here.</summary>
    public const string SchemeName = "ModelKitApiKey";

    private const string ThrottledItem = "modelkit:auth-throttled";
    private const string InvalidKey = "modelkit:auth-invalid-key";
    private const string InvalidTicket = "modelkit:auth-invalid-ticket";
    private const string TicketUser = "modelkit:auth-ticket-user";

    /// <summary>
    /// The key's user when the request presents a valid key or ticket; null with no <paramref name="failure"/> when it
    /// presents none; null with the reason when it presents a bad one or its address is throttled.
    /// </summary>
    public ClaimsPrincipal? Authenticate(HttpContext context, out string? failure)
    {
        failure = null;
        var request = context.Request;
        ReadOnlySpan<char> presented = default;
        if (request.Headers.TryGetValue("X-API-Key", out var header) && header.Count > 0) presented = header[0];
        else if (request.Headers.Authorization is { Count: > 0 } authorization && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            presented = value.AsSpan("Bearer ".Length).Trim();
        }

        if (presented.IsEmpty && context.WebSockets.IsWebSocketRequest && request.Query.TryGetValue("ticket", out var ticket) && ticket.Count == 1)
        {
            // A browser's WebSocket: the one-time ticket it was given for its key (ModelKitWebSocketTickets). Its user is kept
            // on the request, since the ticket works once and a second check of the same request must find it too.
            if (context.Items.TryGetValue(TicketUser, out var redeemed) && redeemed is ClaimsPrincipal known) return known;
            if (tickets.Redeem(ticket[0] ?? string.Empty) is { } user)
            {
                context.Items[TicketUser] = user;
                return user;
            }

            context.Items[InvalidTicket] = true;
            failure = "The WebSocket ticket is not valid.";
            return null;
        }

        if (presented.IsEmpty) return null;
        if (Match(presented) is not { } match)
        {
            // A wrong key takes one of the address's failures in one step; when they are spent (before, or by parallel
            // guesses meanwhile), the answer is the throttle's and does not say whether the key was right.
            if (!throttle.TryCountFailure(context)) return Throttled(context, out failure);
            context.Items[InvalidKey] = true;
            LogRejected(logger, request.Path);
            failure = "The API key is not valid.";
            return null;
        }

        // A right key from an address whose failures are spent is refused as a wrong one is, checked after the match so
        // that a burst of guesses tests no more keys than the address had failures left (one check per request).
        if (throttle.IsBlocked(context)) return Throttled(context, out failure);

        // Each claim is made for its identity (no copy is taken as it is added).
        var identity = new ModelKitKeyIdentity();
        identity.AddClaim(new Claim(ClaimTypes.Name, match.Name, ClaimValueTypes.String, ClaimsIdentity.DefaultIssuer, ClaimsIdentity.DefaultIssuer, identity));
        foreach (var scope in match.Scopes) identity.AddClaim(new Claim("scope", scope, ClaimValueTypes.String, ClaimsIdentity.DefaultIssuer, ClaimsIdentity.DefaultIssuer, identity));
        return new ClaimsPrincipal(identity);
    }

    private static ClaimsPrincipal? Throttled(HttpContext context, out string failure)
    {
        context.Items[ThrottledItem] = true;
        failure = "Too many failed authentications from this address.";
        return null;
    }

    // The presented key's digest, looked up among the configured keys' (constant time, every key compared).
    private ModelKitApiKey? Match(ReadOnlySpan<char> presented)
    {
        var length = Encoding.UTF8.GetMaxByteCount(presented.Length);
        byte[]? rented = length > 512 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> bytes = rented ?? stackalloc byte[512];
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        try
        {
            SHA256.HashData(bytes[..Encoding.UTF8.GetBytes(presented, bytes)], digest);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(bytes); // the presented key's bytes do not outlive the check
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }

        return keys.Find(digest);
    }

    /// <summary>
    /// What a request that did not authenticate is answered, in the error shape of its surface: too many failures from its
    /// address (429, <c>Retry-After</c>), or 401 with <c>WWW-Authenticate: Bearer</c> and why (no key, a bad key, a bad ticket).
    /// </summary>
    public static SurfaceError Challenge(HttpContext context)
    {
        if (context.Items.ContainsKey(ThrottledItem))
        {
            context.Response.Headers.RetryAfter = "60";
            return SurfaceError.Of(ModelKitProblems.RateLimited,
                "Too many failed authentications from this address; retry after the Retry-After interval.", retryAfterSeconds: 60);
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        return SurfaceError.Of(ModelKitProblems.Unauthorized, context.Items.ContainsKey(InvalidKey)
            ? "The API key is not valid (rotated or mistyped?); send a key from the server's configuration."
            : context.Items.ContainsKey(InvalidTicket)
            ? "The WebSocket ticket is not valid: tickets work once, for 60 seconds; ask POST /api/ws/ticket for a new one."
            : "An API key is required: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'.");
    }

    /// <summary>What a key without the endpoint's scope is answered (403).</summary>
    public static SurfaceError Forbidden() => SurfaceError.Of(ModelKitProblems.Forbidden, "The API key does not have the scope this endpoint needs.");

    /// <summary>Whether the request already failed here (its reason is remembered): it is not checked again.</summary>
    public static bool Failed(HttpContext context) =>
        context.Items.Count > 0 && (context.Items.ContainsKey(ThrottledItem) || context.Items.ContainsKey(InvalidKey) || context.Items.ContainsKey(InvalidTicket));

    /// <summary>
    /// Whether <paramref name="user"/> holds <paramref name="scope"/> as a <c>scope</c> claim of an identity of ModelKit's
    /// scheme (manage holds every scope; read-or-infer is either); scope claims of other schemes' identities do not count.
    /// </summary>
    public static bool HasScope(ClaimsPrincipal user, string scope)
    {
        foreach (var identity in user.Identities)
        {
            if (identity is not { IsAuthenticated: true, AuthenticationType: SchemeName }) continue;
            foreach (var claim in identity.Claims)
            {
                if (claim.Type == "scope" && ModelKitScopes.Grants(claim.Value, scope))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// Whether <paramref name="user"/> was made here, for a key or ticket presented with a request (the host's own schemes
    /// cannot make one, whatever authentication type they name).
    /// </summary>
    public static bool IsKeyUser(ClaimsPrincipal user) => user.Identity is ModelKitKeyIdentity { IsAuthenticated: true };

    [LoggerMessage(1, LogLevel.Warning, "Rejected an invalid API key on {Path}.")]
    private static partial void LogRejected(ILogger logger, PathString path);
}

/// <summary>
/// The identity of a request authenticated with one of ModelKit's keys: the key's name and scopes as claims. Its type marks
/// what ModelKit made (a copy a claims transformation takes, or one the host rebuilds, is a plain identity).
/// </summary>
internal sealed class ModelKitKeyIdentity() : ClaimsIdentity(ModelKitKeyAuthenticator.SchemeName);

/// <summary>Endpoint metadata: the scope a key needs on one of ModelKit's own endpoints (checked by the surfaces' filter).</summary>
internal sealed record ModelKitScopeRequirement(string Scope);
