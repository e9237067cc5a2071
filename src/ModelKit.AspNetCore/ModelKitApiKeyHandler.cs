using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>
/// ModelKit's keys as an ASP.NET authentication scheme, for a host app's own endpoints (<c>RequireModelKitScope</c>) and
/// the gRPC services; ModelKit's HTTP surfaces check keys in their own filter with the same <see cref="ModelKitKeyAuthenticator"/>.
/// </summary>
internal sealed class ModelKitApiKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ModelKitKeyAuthenticator authenticator, ModelKitSurfaces surfaces)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = ModelKitKeyAuthenticator.SchemeName;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (ModelKitKeyAuthenticator.Failed(Context)) return Task.FromResult(AuthenticateResult.Fail("The request's key or ticket was refused."));
        var user = authenticator.Authenticate(Context, out var failure);
        return Task.FromResult(user is not null ? AuthenticateResult.Success(new AuthenticationTicket(user, SchemeName))
            : failure is not null ? AuthenticateResult.Fail(failure)
            : AuthenticateResult.NoResult());
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties) => Write(ModelKitKeyAuthenticator.Challenge(Context));

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) => Write(ModelKitKeyAuthenticator.Forbidden());

    // In the error shape of the surface the request is for (problem details on a host app's own endpoints; a gRPC status
    // for a gRPC call, so that its client reads UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED with the message).
    private Task Write(SurfaceError error) => GrpcStatus.IsGrpc(Request)
        ? GrpcStatus.WriteAsync(Context, error)
        : (surfaces.Find(Request.Path) ?? ModelKitProblems.Writer)(Context, error).ExecuteAsync(Context);
}
