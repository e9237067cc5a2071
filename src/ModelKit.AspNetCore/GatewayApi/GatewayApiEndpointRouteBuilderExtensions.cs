using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;
using static Microsoft.AspNetCore.Builder.ModelKitEndpointRouteBuilderExtensions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 001, the gateway API: models and local model management at <c>/models…</c>.</summary>
public static class GatewayApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "001";

    /// <summary>Maps seed 001 under <paramref name="prefix"/> (default: the seed's own <c>/models…</c>).</summary>
    public static RouteGroupBuilder MapGatewayApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, prefix).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapGatewayApi()", "Seed 001 · gateway API", prefix, ModelKitProblems.Writer, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), "/models");
        var group = surface.Group;
        surface.Secure(group.MapGet("/models", ListModelsAsync), ModelKitScopes.Read).WithSummary("Available models");
        surface.Secure(group.MapGet("/models/{model_id}", GetModelAsync), ModelKitScopes.Read).WithSummary("A model's details");
        surface.Secure(group.MapGet("/models/local", LocalModels), ModelKitScopes.Read).WithSummary("Deployed (local) models");
        surface.Secure(group.MapPost("/models/local/deploy", LocalDeployAsync), ModelKitScopes.Manage).WithSummary("Deploy a local model").Accepts<LocalDeployBody>("application/json");
        surface.Secure(group.MapGet("/models/local/deployments/{deployment_id}", DeploymentProgress), ModelKitScopes.Read).WithSummary("A deployment's progress, stages and log");
        surface.Secure(group.MapDelete("/models/local/{model_id}", LocalUnloadAsync), ModelKitScopes.Manage).WithSummary("Unload a local model: delete its deployment");
        return surface;
    }
}
