using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>What both ModelKit route groups share: the scope requirement, and one filter for rate limits and errors.</summary>
internal static partial class ModelKitEndpointConventions
{
    /// <summary>
    /// Requires <paramref name="scope"/> when authentication is on. The surfaces' filter checks the key
    /// (<see cref="AddModelKitFilter"/>), not ASP.NET's authorization middleware, so that a request pays for one key check
    /// instead of the policy pipeline's second authentication and its evaluation. To the host's authorization the endpoint
    /// is anonymous (its fallback policy does not apply to ModelKit's keys) unless the host put a policy of its own on it
    /// (<c>MapModelKit().RequireAuthorization(…)</c>, a group around it): then that policy runs too, and both must pass.
    /// Answers that need a key are never stored by the host's output cache.
    /// </summary>
    public static RouteHandlerBuilder Secure(RouteHandlerBuilder endpoint, string scope, bool authEnabled)
    {
        if (authEnabled) endpoint.WithMetadata(new ModelKitScopeRequirement(scope), new Microsoft.AspNetCore.OutputCaching.OutputCacheAttribute { NoStore = true });
        endpoint.Finally(builder =>
        {
            if (!builder.Metadata.Any(m => m is IAuthorizeData or AuthorizationPolicy or IAuthorizationRequirementData)) builder.Metadata.Add(new AllowAnonymousAttribute());
        });
        return endpoint;
    }

    /// <summary>
    /// Adds the group filter: the key and its scope where the endpoint requires one (<see cref="Secure"/>: UNAUTHORIZED,
    /// FORBIDDEN, or RATE_LIMITED for an address with too many failures), the per-key rate limit (RATE_LIMITED), then every
    /// <see cref="ModelKitException"/> (and Kestrel's body errors, mapped to one), all written by <paramref name="errors"/>,
    /// the surface's own error shape.
    /// </summary>
    public static void AddModelKitFilter(this RouteGroupBuilder group, IServiceProvider services, SurfaceErrorWriter errors)
    {
        IResult toResult(ModelKitException ex, HttpContext context) => errors(context, SurfaceError.From(ex));
        var limiter = services.GetRequiredService<ModelKitRateLimiter>();
        var authenticator = services.GetRequiredService<ModelKitKeyAuthenticator>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("ModelKit.AspNetCore");
        group.AddEndpointFilter(async (context, next) =>
        {
            try
            {
                if (context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<ModelKitScopeRequirement>() is { Scope: var scope }
                    && Refusal(context.HttpContext, scope, authenticator) is { } refusal)
                {
                    return errors(context.HttpContext, refusal);
                }

                limiter.Acquire(context.HttpContext);
                return await next(context).ConfigureAwait(false);
            }
            catch (ModelKitException ex)
            {
                ModelKitProblems.SetRetryAfter(ex, context.HttpContext);
                return toResult(ex, context.HttpContext);
            }
            catch (InvalidOperationException ex) when (ex.InnerException is System.Text.DecoderFallbackException)
            {
                // System.Text.Json reads a string value only when asked for it, and says so when its bytes are not UTF-8.
                return toResult(new InvalidInputException("The body holds a JSON string that is not valid UTF-8 text."), context.HttpContext);
            }
            catch (BadHttpRequestException ex)
            {
                // Kestrel's own refusals while reading the body (too large, client gone, bad framing).
                ModelKitException mapped = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                    ? new PayloadTooLargeException("The request body is larger than the server accepts: " + ex.Message)
                    : new InvalidInputException("The request body could not be read: " + ex.Message);
                return toResult(mapped, context.HttpContext);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !context.HttpContext.RequestAborted.IsCancellationRequested)
            {
                // A bug: the client gets the seed-style error with the request id to quote, the log gets the exception.
                LogUnhandled(logger, context.HttpContext.Request.Method, context.HttpContext.Request.Path, context.HttpContext.TraceIdentifier, ex);
                return toResult(new InternalErrorException(
                    $"An unexpected error occurred; the server's log has the details under request id '{context.HttpContext.TraceIdentifier}'."), context.HttpContext);
            }
        });
    }

    // Why the request may not run: no valid key (401, or 429 for a throttled address) or not the scope (403). The user the
    // host's authentication middleware already found with ModelKit's scheme is taken as it is; a request whose key it
    // already refused is not checked (nor counted) again.
    private static SurfaceError? Refusal(HttpContext context, string scope, ModelKitKeyAuthenticator authenticator)
    {
        var user = context.User;
        if (!ModelKitKeyAuthenticator.IsKeyUser(user))
        {
            if (ModelKitKeyAuthenticator.Failed(context) || authenticator.Authenticate(context, out _) is not { } found) return ModelKitKeyAuthenticator.Challenge(context);

            // The key's identity first (the request's name is the key's), after it whatever the host's schemes found.
            context.User = user = user.Identities.Any(i => i.IsAuthenticated) ? new ClaimsPrincipal(found.Identities.Concat(user.Identities)) : found;
        }

        return ModelKitKeyAuthenticator.HasScope(user, scope) ? null : ModelKitKeyAuthenticator.Forbidden();
    }

    /// <summary>
    /// Whether authentication is on for the surface <paramref name="surface"/> (off when it is off for all, or the surface is
    /// listed in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>); throws when <c>AddHttpApi</c> was not called.
    /// </summary>
    public static bool AuthEnabled(IServiceProvider services, string caller, string surface)
    {
        // IOptions<T> resolves for any T once options exist at all, so AddHttpApi's own marker is what tells.
        if (services.GetService<ModelKitHttpApiMarker>() is null)
        {
            throw new InvalidOperationException($"{caller} needs the HTTP API's services: call services.AddModelKit().AddHttpApi(...) with API keys (or Enabled = false to run without).");
        }

        var auth = services.GetRequiredService<IOptions<ModelKitAuthOptions>>().Value;
        return auth.Enabled && !auth.AnonymousSurfaces.Contains(surface, StringComparer.OrdinalIgnoreCase);
    }

    [LoggerMessage(2, LogLevel.Error, "Unexpected error on {Method} {Path} (request {RequestId}).")]
    private static partial void LogUnhandled(ILogger logger, string method, PathString path, string requestId, Exception exception);
}
