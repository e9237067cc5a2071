using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Inference;

namespace ModelKit.AspNetCore;

/// <summary>
/// One surface as mapped: its route group at the mount prefix (with the rate-limit and error filter in the surface's
/// error shape), the paths whose framework answers (404, 405, 415) take that shape, and whether it requires a key.
/// Every surface's <c>Map…()</c> starts here.
/// </summary>
internal sealed class SurfaceMap
{
    private SurfaceMap(RouteGroupBuilder group, string prefix, bool authEnabled, SurfaceErrorWriter errors)
    {
        Group = group;
        Prefix = prefix;
        AuthEnabled = authEnabled;
        Errors = errors;
    }

    /// <summary>The group every endpoint of the surface is mapped on.</summary>
    public RouteGroupBuilder Group { get; }

    /// <summary>The mount prefix, normalized: empty, or <c>/segment[/segment…]</c> without a trailing slash.</summary>
    public string Prefix { get; }

    /// <summary>Whether endpoints need a key (<see cref="Secure"/>).</summary>
    public bool AuthEnabled { get; }

    /// <summary>The surface's error shape.</summary>
    public SurfaceErrorWriter Errors { get; }

    /// <summary>
    /// Creates the surface <paramref name="surface"/> (an id of <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>) under
    /// <paramref name="prefix"/>, tagged <paramref name="tag"/> in OpenAPI, writing errors with <paramref name="errors"/>;
    /// unmatched paths under each of <paramref name="roots"/> (relative to the prefix) answer in that shape too. OpenAPI
    /// documents the error statuses with <paramref name="errorBody"/> as their schema.
    /// </summary>
    public static SurfaceMap Create(
        IEndpointRouteBuilder endpoints, string surface, string caller, string tag, string? prefix, SurfaceErrorWriter errors, Type errorBody, params string[] roots)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        if (services.GetService<IInferenceService>() is null)
        {
            throw new InvalidOperationException($"{caller} needs ModelKit's services: call services.AddModelKit() (and a backend such as .AddOnnxRuntime()) first.");
        }

        var authEnabled = ModelKitEndpointConventions.AuthEnabled(services, caller, surface);
        var normalized = Normalize(prefix);
        var group = endpoints.MapGroup(normalized).WithTags(tag).WithMetadata(new ModelKitRoutePrefix(normalized));
        group.AddModelKitFilter(services, errors);
        string[] contentTypes = [errorBody == typeof(Microsoft.AspNetCore.Mvc.ProblemDetails) ? "application/problem+json" : "application/json"];
        foreach (var status in ErrorStatuses) group.WithMetadata(new ProducesResponseTypeMetadata(status, errorBody, contentTypes));
        var surfaces = services.GetRequiredService<ModelKitSurfaces>();
        foreach (var root in roots) surfaces.Register(normalized + root, errors);
        return new SurfaceMap(group, normalized, authEnabled, errors);
    }

    private static readonly int[] ErrorStatuses =
    [
        StatusCodes.Status400BadRequest, StatusCodes.Status401Unauthorized, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound,
        StatusCodes.Status409Conflict, StatusCodes.Status429TooManyRequests, StatusCodes.Status500InternalServerError, StatusCodes.Status503ServiceUnavailable,
    ];

    /// <summary>Requires <paramref name="scope"/> on <paramref name="endpoint"/> when the surface requires keys.</summary>
    public RouteHandlerBuilder Secure(RouteHandlerBuilder endpoint, string scope) => ModelKitEndpointConventions.Secure(endpoint, scope, AuthEnabled);

    /// <summary>A mount prefix as routes take it: <c>null</c>, <c>""</c> and <c>"/"</c> are the root; <c>"x/"</c> is <c>/x</c>.</summary>
    public static string Normalize(string? prefix) => prefix?.Trim('/') is { Length: > 0 } p ? "/" + p : string.Empty;

    /// <summary>The prefix the endpoint answering <paramref name="request"/> was mounted under (links in responses start with it).</summary>
    public static string PrefixOf(HttpRequest request) =>
        request.HttpContext.GetEndpoint()?.Metadata.GetMetadata<ModelKitRoutePrefix>()?.Value ?? string.Empty;
}
