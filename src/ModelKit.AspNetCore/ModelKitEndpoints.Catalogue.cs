using Microsoft.AspNetCore.Http;
using ModelKit;
using ModelKit.AspNetCore;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Registry;

namespace Microsoft.AspNetCore.Builder;

// Seed 004's catalogue views over the registry, and seed 001's local models.
public static partial class ModelKitEndpointRouteBuilderExtensions
{
    internal static async Task<IResult> SearchModelsAsync(
        IModelRegistry registry, IDeploymentManager deployments, string? query, string? source, string? model_type, string? page, string? page_size, CancellationToken cancellationToken)
    {
        if (source is not null && !source.Equals("registry", StringComparison.OrdinalIgnoreCase) && !source.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException($"'source' '{source}' is not available: search covers the registry (remote hubs belong to downloads).");
        }

        return await ListModelPageAsync(registry, deployments, Parse.Int(page, "page"), Parse.Int(page_size, "page_size"), null, null, null, model_type, null, query, null, cancellationToken);
    }

    internal static async Task<IResult> CategoriesAsync(IModelRegistry registry, CancellationToken cancellationToken)
    {
        var stats = await registry.GetStatisticsAsync(cancellationToken);
        return ModelKitJson.Json(new
        {
            categories = stats.ByTask.Select(p => new { name = p.Key, count = p.Value }),
            frameworks = stats.ByFramework.Select(p => new { name = p.Key, count = p.Value }),
        });
    }

    // "Trending" here means most used since the models were loaded: the cache counts every batch a model ran.
    internal static IResult Trending(IModelCache cache, string? limit) => TopUsed(cache, Parse.Int(limit, "limit"));

    internal static IResult TopUsed(IModelCache cache, int? limit)
    {
        if (limit is < 1 or > 1000) throw new InvalidInputException($"'limit' must be 1..1000 (was {limit}).");
        var top = cache.GetStats().UsageByModel().Take(limit ?? 10).Select(u => new { model_id = u.ModelId, runs = u.Runs, last_used = u.LastUsed });
        return ModelKitJson.Json(new { models = top, basis = "backend runs of the models in the cache, counted since each was loaded" });
    }

    internal static async Task<IResult> RegistryStatsAsync(IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var stats = await registry.GetStatisticsAsync(cancellationToken);
        return ModelKitJson.Json(new
        {
            total_models = stats.Models,
            total_versions = stats.Versions,
            total_size_bytes = stats.TotalBytes,
            favorites = stats.Favorites,
            by_status = stats.ByStatus.ToDictionary(p => ModelKitJson.Name(p.Key), p => p.Value),
            by_framework = stats.ByFramework,
            by_model_type = stats.ByTask,
            deployed = deployments.ListDeployments(DeploymentState.Running).Count,
        });
    }

    internal static async Task<IResult> SetFavoriteAsync(string modelId, bool favorite, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var model = await registry.UpdateModelAsync(modelId, new ModelUpdate { Favorite = favorite }, cancellationToken);
        return ModelKitJson.Json(ModelSummary(model, deployments.FindByModel(model.Id)));
    }

    internal static IResult LocalModels(IDeploymentManager deployments)
    {
        var list = deployments.ListDeployments();
        return ModelKitJson.Json(new { models = list.Select(DeploymentJson), total = list.Count });
    }

    // Seed 001: the model is named by model_type and model_size, or model_id (ModelNaming).
    internal static async Task<IResult> LocalDeployAsync(HttpRequest request, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<LocalDeployBody>(request, cancellationToken);
        var modelId = ModelNaming.FromTypeAndSize(body.ModelId, body.ModelType, body.ModelSize);
        var info = await deployments.DeployAsync(new DeploymentSpec
        {
            ModelId = modelId,
            Batching = body.DeploymentConfig?.MaxBatchSize is { } max ? new BatchingConfig { MaxBatchSize = max }.ToOptions() : null,
        }, cancellationToken);
        var json = DeploymentJson(info);
        json["progress_url"] = $"{request.PathBase}{Prefix(request)}/models/local/deployments/{info.DeploymentId}";
        return ModelKitJson.Json(json, StatusCodes.Status202Accepted);
    }

    internal static async Task<IResult> LocalUnloadAsync(string model_id, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var info = DeploymentOfModel(deployments, model_id);
        await deployments.DeleteAsync(info.DeploymentId, cancellationToken);
        return ModelKitJson.Json(new { message = $"Model '{model_id}' was unloaded (deployment '{info.DeploymentId}' deleted).", deployment_id = info.DeploymentId });
    }
}
