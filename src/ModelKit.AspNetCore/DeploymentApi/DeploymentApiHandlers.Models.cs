using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ModelKit.Deployments;
using ModelKit.Registry;

namespace ModelKit.AspNetCore;

// The models resource's list, get and delete in seed 000's shapes (when seed 000 answers them: mapped alone, or
// ModelsResourceOptions.Shape = Deployment).
internal static partial class DeploymentApiHandlers
{
    public static async Task<IResult> ListAsync(
        IModelRegistry registry, IDeploymentManager deployments, string? status, string? model_type, string? limit, string? offset, string? page, string? page_size,
        string? framework, string? q, string? favorite, CancellationToken cancellationToken)
    {
        var query = ModelsListQuery.From(page, page_size, limit, offset, framework, model_type, status, q, favorite, defaultSize: 50, ModelsResourceShape.Deployment);
        var result = await ModelsListing.QueryAsync(registry, deployments, query, cancellationToken);
        return ModelKitJson.Json(result.Items.Select(i => Model(i.Model, i.Deployment, details: false)).ToList());
    }

    public static async Task<IResult> GetAsync(string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var model = await registry.GetModelAsync(model_id, cancellationToken);
        return ModelKitJson.Json(Model(model, deployments.FindLatestByModel(model.Id), details: true));
    }

    public static async Task<IResult> DeleteAsync(string model_id, string? force, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var forced = Parse.Bool(force, "force") ?? false;
        await registry.DeleteModelAsync(model_id, forced, cancellationToken);
        return ModelKitJson.Json(new MessageResponse($"Model '{model_id}' was deleted{(forced ? " (forced: the deployment serving it is being stopped)" : string.Empty)}."));
    }

    private static DeploymentModel Model(ModelInfo model, DeploymentInfo? deployment, bool details) => new()
    {
        ModelId = model.Id,
        Name = model.Name,
        Version = deployment?.Version ?? model.DefaultVersion,
        Status = DeploymentStatusNames.Of(deployment?.State),
        ModelType = model.Task,
        CreatedAt = model.CreatedAt,
        UpdatedAt = model.UpdatedAt,
        DeploymentId = deployment?.DeploymentId,
        Framework = model.Framework,
        Description = details ? model.Description : null,
        Versions = details ? [.. model.Versions.Select(ModelVersionJson.Of)] : null,
    };
}
