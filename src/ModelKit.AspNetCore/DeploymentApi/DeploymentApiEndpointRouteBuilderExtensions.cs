using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 000, the deployment API: deploy, status, scale, update, inference and batch inference at <c>/api/v1/models…</c>.</summary>
public static class DeploymentApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "000";

    /// <summary>
    /// Maps seed 000 under <paramref name="prefix"/> (default: the seed's own <c>/api/v1/models…</c>), with its list and
    /// delete (and a get) in its own shapes, unless seed 002 was mapped at the same prefix before and answers them.
    /// Answers are bare objects; errors are <c>{"status": "error", "error": {code, message, details}, "timestamp"}</c>.
    /// Requires <c>services.AddModelKit().AddHttpApi(…)</c>.
    /// </summary>
    public static RouteGroupBuilder MapDeploymentApi(this IEndpointRouteBuilder endpoints, string? prefix = null) =>
        Map(endpoints, prefix, registryOperations: true).Group;

    /// <summary>
    /// Maps seed 000. The models resource's list, get and delete are mapped here when <paramref name="registryOperations"/>
    /// or <see cref="ModelsResourceOptions.Shape"/> asks for seed 000's shapes, and seed 002 has not taken them at this prefix
    /// (<see cref="ModelsResource"/>: with <c>MapModelKit()</c> seed 002 answers them by default).
    /// </summary>
    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix, bool registryOperations)
    {
        var errors = DeploymentApiErrors.Writer;
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapDeploymentApi()", "Seed 000 · deployment API", prefix, errors, typeof(DeploymentErrorResponse), "/api/v1");
        var group = surface.Group.DecodeModelIds(); // org/name ids as acme%2Ftiny
        group.WithMetadata(new SurfaceShapeMetadata(errors));
        var wantsReads = registryOperations || ModelsResource.ConfiguredShape(endpoints) == ModelsResourceShape.Deployment;
        if (ModelsResource.At(endpoints, surface.Prefix).Add(endpoints, SurfaceId, errors, wantsReads))
        {
            surface.Secure(group.MapGet("/api/v1/models", DeploymentApiHandlers.ListAsync), ModelKitScopes.Read)
                .WithName(OperationId(surface, "Seed000_ListModels")).WithSummary("List models with their deployment state (status=running&limit=10)")
                .Produces<List<DeploymentModel>>();
            surface.Secure(group.MapGet("/api/v1/models/{model_id}", DeploymentApiHandlers.GetAsync), ModelKitScopes.Read)
                .WithName(OperationId(surface, "Seed000_GetModel")).WithSummary("A model with its versions and deployment state")
                .Produces<DeploymentModel>();
            surface.Secure(group.MapDelete("/api/v1/models/{model_id}", DeploymentApiHandlers.DeleteAsync), ModelKitScopes.Manage)
                .WithName(OperationId(surface, "Seed000_DeleteModel")).WithSummary("Delete a model (force=true stops its deployment first)")
                .Produces<MessageResponse>();
        }

        surface.Secure(group.MapPost("/api/v1/models/deploy", DeploymentApiHandlers.DeployAsync), ModelKitScopes.Manage)
            .WithName(OperationId(surface, "Seed000_Deploy")).WithSummary("Deploy a model").Accepts<DeployBody>("application/json")
            .Produces<DeployResponse>(StatusCodes.Status202Accepted);
        surface.Secure(group.MapGet("/api/v1/models/{model_id}/status", DeploymentApiHandlers.StatusAsync), ModelKitScopes.Read)
            .WithName(OperationId(surface, "Seed000_Status")).WithSummary("A model's deployment status, replicas, endpoints, resource usage and stages")
            .Produces<ModelStatusResponse>();
        surface.Secure(group.MapPost("/api/v1/models/{model_id}/scale", DeploymentApiHandlers.ScaleAsync), ModelKitScopes.Manage)
            .WithName(OperationId(surface, "Seed000_Scale")).WithSummary("Scale a model's deployment without reloading").Accepts<ScaleBody>("application/json")
            .Produces<ScaleResponse>();
        surface.Secure(group.MapPut("/api/v1/models/{model_id}", DeploymentApiHandlers.UpdateAsync), ModelKitScopes.Manage)
            .WithName(OperationId(surface, "Seed000_Update")).WithSummary("Update a model; 'config' updates its deployment (rolling)").Accepts<UpdateModelBody>("application/json")
            .Produces<DeployResponse>();
        surface.Secure(group.MapPost("/api/v1/models/{model_id}/inference", DeploymentApiHandlers.InferenceAsync), ModelKitScopes.Infer)
            .WithName(OperationId(surface, "Seed000_Inference")).WithSummary("Run one inference request").Accepts<InferenceBody>("application/json")
            .Produces<DeploymentInferenceResult>();
        surface.Secure(group.MapPost("/api/v1/models/{model_id}/batch_inference", DeploymentApiHandlers.BatchInferenceAsync), ModelKitScopes.Infer)
            .WithName(OperationId(surface, "Seed000_BatchInference")).WithSummary("Run several inference requests; a failed one has 'error' in its place")
            .Accepts<BatchInferenceBody>("application/json").Produces<List<DeploymentInferenceResult>>();
        return surface;
    }

    // Operation ids are unique per app: at a prefix other than the root they name it (Seed000_Deploy_v2_tenant).
    private static string OperationId(SurfaceMap surface, string name) =>
        surface.Prefix.Length == 0 ? name : name + "_" + surface.Prefix.Trim('/').Replace('/', '_');
}
