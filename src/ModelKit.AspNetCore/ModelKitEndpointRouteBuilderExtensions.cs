using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps all of ModelKit's HTTP surfaces at once.</summary>
public static class ModelKitEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every surface, each at its seed's own paths under <paramref name="prefix"/> (default: the root): seed 002's
    /// registry and seed 000's deployments on <c>/api/v1/models…</c> (002 answers the registry operations, 000 the rest),
    /// seed 001 on <c>/models…</c>, seed 003 on <c>/inference/…</c>, seed 004 on <c>/api/…</c> and <c>/health</c>, and the
    /// Open Inference Protocol on <c>/v2</c>, and the OpenAI-compatible API on <c>/v1</c>. Returns a builder whose conventions (authorization, rate limiting, OpenAPI
    /// metadata) apply to all of them. Requires <c>services.AddModelKit().AddHttpApi(…)</c>. To mount one seed alone, or at
    /// another path, call its own <c>Map…Api(prefix)</c> instead.
    /// </summary>
    public static IEndpointConventionBuilder MapModelKit(this IEndpointRouteBuilder endpoints, string? prefix = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var prefixed = SurfaceMap.Normalize(prefix);
        return new ModelKitEndpointConventionBuilder(
        [
            DeploymentApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed, registryOperations: false).Group,
            RegistryApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
            GatewayApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
            InferenceApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
            LlmManagerApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
            endpoints.MapOpenInferenceProtocol(prefixed),
            OpenAiApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
        ]);
    }
}
