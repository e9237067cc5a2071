using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;
using static Microsoft.AspNetCore.Builder.ModelKitEndpointRouteBuilderExtensions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 000, the deployment API: deploy, status, scale, update, inference and batch inference at <c>/api/v1/models…</c>.</summary>
public static class DeploymentApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "000";

    /// <summary>
    /// Maps seed 000 under <paramref name="prefix"/> (default: the seed's own <c>/api/v1/models…</c>), with its list, get and
    /// delete. Requires <c>services.AddModelKit().AddHttpApi(…)</c>.
    /// </summary>
    public static RouteGroupBuilder MapDeploymentApi(this IEndpointRouteBuilder endpoints, string? prefix = null) =>
        Map(endpoints, prefix, registryOperations: true).Group;

    /// <summary>
    /// Maps seed 000; without <paramref name="registryOperations"/> the models resource's list, get and delete are left to
    /// seed 002 (<see cref="RegistryApiEndpointRouteBuilderExtensions"/>), which shares the path.
    /// </summary>
    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix, bool registryOperations)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapDeploymentApi()", "Seed 000 · deployment API", prefix, ModelKitProblems.Writer, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), "/api/v1");
        var group = surface.Group;
        if (registryOperations)
        {
            surface.Secure(group.MapGet("/api/v1/models", ListModelsAsync), ModelKitScopes.Read).WithSummary("List models (paged, filtered)");
            surface.Secure(group.MapGet("/api/v1/models/{model_id}", GetModelAsync), ModelKitScopes.Read).WithSummary("A model with its versions and deployment");
            surface.Secure(group.MapDelete("/api/v1/models/{model_id}", DeleteModelAsync), ModelKitScopes.Manage).WithSummary("Delete a model (force stops its deployment)");
        }

        surface.Secure(group.MapPost("/api/v1/models/deploy", DeployAsync), ModelKitScopes.Manage).WithSummary("Deploy a model").Accepts<DeployBody>("application/json");
        surface.Secure(group.MapGet("/api/v1/models/{model_id}/status", GetStatus), ModelKitScopes.Read).WithSummary("A model's deployment status, stages and replicas");
        surface.Secure(group.MapPost("/api/v1/models/{model_id}/scale", ScaleAsync), ModelKitScopes.Manage).WithSummary("Scale a model's deployment without reloading").Accepts<ScaleBody>("application/json");
        surface.Secure(group.MapPut("/api/v1/models/{model_id}", UpdateModelAsync), ModelKitScopes.Manage).WithSummary("Update a model; 'config' updates its deployment (rolling)").Accepts<UpdateModelBody>("application/json");
        surface.Secure(group.MapPost("/api/v1/models/{model_id}/inference", ModelInferenceAsync), ModelKitScopes.Infer).WithSummary("Run one inference request").Accepts<InferenceBody>("application/json").Produces<InferenceResponse>();
        surface.Secure(group.MapPost("/api/v1/models/{model_id}/batch_inference", ModelBatchInferenceAsync), ModelKitScopes.Infer).WithSummary("Run several inference requests").Accepts<BatchInferenceBody>("application/json");
        return surface;
    }
}
