using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelKit.Caching;
using ModelKit.Registry;
using ModelKit.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Ready when the registry answers and every served model can serve; a served or deployed model whose artifacts are
/// missing or corrupt makes it unhealthy and is named (model, version, deployment). Reports the cache's state.
/// </summary>
internal sealed class ModelKitHealthCheck(IModelRegistry registry, IModelCache cache, IModelRouter router) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var page = await registry.ListModelsAsync(new ModelQuery { Limit = 1 }, cancellationToken).ConfigureAwait(false);
            var stats = cache.GetStats();
            var data = new Dictionary<string, object>
            {
                ["models"] = page.Total,
                ["cached_models"] = stats.Count,
                ["cache_memory_bytes"] = stats.MemoryBytes,
                ["cache_memory_limit_bytes"] = stats.MemoryLimitBytes,
            };
            var unavailable = router.GetUnavailable();
            if (unavailable.Count == 0) return HealthCheckResult.Healthy("ModelKit is serving.", data);
            data["unavailable_models"] = unavailable.Select(u => new Dictionary<string, object?>
            {
                ["model_id"] = u.ModelId,
                ["version"] = u.Version,
                ["deployment_id"] = u.DeploymentId,
                ["reason"] = u.Reason,
            }).ToArray();
            var names = string.Join(", ", unavailable.Select(u => u.DeploymentId is null ? $"{u.ModelId}:{u.Version}" : $"{u.ModelId}:{u.Version} (deployment '{u.DeploymentId}')"));
            return HealthCheckResult.Unhealthy($"{unavailable.Count} served model(s) cannot serve: {names}.", data: data);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The model registry is not reachable.", ex);
        }
    }
}
