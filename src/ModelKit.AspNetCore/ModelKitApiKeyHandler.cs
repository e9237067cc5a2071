using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

internal sealed partial class ModelKitApiKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ModelKitApiKeyDigests keys, ModelKitAuthThrottle throttle,
    ModelKitSurfaces surfaces, ModelKitWebSocketTickets tickets)
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

        if (string.IsNullOrEmpty(presented) && Context.WebSockets.IsWebSocketRequest && Request.Query.TryGetValue("ticket", out var ticket) && ticket.Count == 1)
        {
            // A browser's WebSocket: the one-time ticket it was given for its key (ModelKitWebSocketTickets).
            if (tickets.Redeem(ticket[0] ?? string.Empty) is { } user) return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(user, SchemeName)));
            Context.Items[InvalidTicket] = true;
            return Task.FromResult(AuthenticateResult.Fail("The WebSocket ticket is not valid."));
        }

        if (string.IsNullOrEmpty(presented)) return Task.FromResult(AuthenticateResult.NoResult());
        if (throttle.IsBlocked(Context))
        {
            Context.Items[ThrottledKey] = true;
            return Task.FromResult(AuthenticateResult.Fail("Too many failed authentications from this address."));
        }

        var presentedHash = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        ModelKitApiKey? match = null;
        foreach (var (digest, key) in keys.Keys)
        {
            // Every key is compared (no early exit), each in constant time over equal-length hashes.
            if (CryptographicOperations.FixedTimeEquals(presentedHash, digest)) match ??= key;
        }

        if (match is null)
        {
            throttle.RecordFailure(Context);
            Context.Items[InvalidKey] = true;
            LogRejected(Logger, Request.Path);
            return Task.FromResult(AuthenticateResult.Fail("The API key is not valid."));
        }

        var claims = new List<Claim> { new(ClaimTypes.Name, match.Name) };
        foreach (var scope in match.Scopes) claims.Add(new Claim("scope", scope));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName)));
    }

    private const string ThrottledKey = "modelkit:auth-throttled";
    private const string InvalidKey = "modelkit:auth-invalid-key";
    private const string InvalidTicket = "modelkit:auth-invalid-ticket";

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.ContainsKey(ThrottledKey))
        {
            Response.Headers.RetryAfter = "60";
            return Write(SurfaceError.Of(ModelKitProblems.RateLimited,
                "Too many failed authentications from this address; retry after the Retry-After interval.", retryAfterSeconds: 60));
        }

        Response.Headers.WWWAuthenticate = "Bearer";
        return Write(SurfaceError.Of(ModelKitProblems.Unauthorized, Context.Items.ContainsKey(InvalidKey)
            ? "The API key is not valid (rotated or mistyped?); send a key from the server's configuration."
            : Context.Items.ContainsKey(InvalidTicket)
            ? "The WebSocket ticket is not valid: tickets work once, for 60 seconds; ask POST /api/ws/ticket for a new one."
            : "An API key is required: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'."));
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        Write(SurfaceError.Of(ModelKitProblems.Forbidden, "The API key does not have the scope this endpoint needs."));

    // In the error shape of the surface the request is for (problem details on a host app's own endpoints; a gRPC status
    // for a gRPC call, so that its client reads UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED with the message).
    private Task Write(SurfaceError error) => GrpcStatus.IsGrpc(Request)
        ? GrpcStatus.WriteAsync(Context, error)
        : (surfaces.Find(Request.Path) ?? ModelKitProblems.Writer)(Context, error).ExecuteAsync(Context);

    [LoggerMessage(1, LogLevel.Warning, "Rejected an invalid API key on {Path}.")]
    private static partial void LogRejected(ILogger logger, PathString path);
}
