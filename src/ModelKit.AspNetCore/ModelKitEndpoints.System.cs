using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelKit.AspNetCore;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace Microsoft.AspNetCore.Builder;

// Seed 004's system endpoints and liveness/readiness probes.
public static partial class ModelKitEndpointRouteBuilderExtensions
{
    private const double GiB = 1L << 30;

    internal static IResult Live() => ModelKitJson.Json(new { status = "alive", service = "modelkit", version = ServiceVersion });

    // Not ready when a check fails; served models that cannot serve (artifacts missing or corrupt) are named.
    internal static async Task<IResult> ReadyAsync(HealthCheckService health, IModelRouter router, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains("ready"), cancellationToken);
        var ready = report.Status != HealthStatus.Unhealthy;
        var unavailable = router.GetUnavailable();
        return ModelKitJson.Json(new
        {
            status = ready ? "ready" : "not_ready",
            checks = report.Entries.ToDictionary(e => e.Key, e => ModelKitJson.Name(e.Value.Status)),
            unavailable_models = unavailable.Select(u => new { model_id = u.ModelId, version = u.Version, deployment_id = u.DeploymentId, reason = u.Reason }),
        }, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    internal static IResult SystemResources(SystemMonitor monitor) => ModelKitJson.Json(ResourcesJson(monitor.Read()));

    internal static IResult SystemLoad(SystemMonitor monitor, IModelRouter router, IDeploymentManager deployments)
    {
        var resources = monitor.Read();
        var total = BatchQueueStats.Sum(router.GetQueueStats().Values);
        return ModelKitJson.Json(new
        {
            load_average = resources.LoadAverage,
            cpu = new { usage_percent = resources.CpuUsagePercent, process_usage_percent = resources.ProcessCpuUsagePercent, cores = resources.CpuCores },
            thread_pool = new { threads = resources.ThreadPoolThreads, queued_work_items = resources.ThreadPoolQueueLength },
            inference = new
            {
                queued_requests = total.QueueLength,
                running_batches = total.Running,
                replicas = total.Instances,
                running_deployments = deployments.ListDeployments(DeploymentState.Running).Count,
            },
        });
    }

    // The rules are the health checks' (Core): unhealthy when a readiness check fails, degraded while a deployment has failed.
    internal static async Task<IResult> SystemHealthAsync(HealthCheckService health, SystemMonitor monitor, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        var deployments = report.Entries.TryGetValue("deployments", out var entry) ? entry.Data : null;
        return ModelKitJson.Json(new
        {
            status = ModelKitJson.Name(report.Status),
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = ModelKitJson.Name(e.Value.Status), description = e.Value.Description }),
            deployments = deployments?.GetValueOrDefault("by_state"),
            failed_deployments = deployments?.GetValueOrDefault("failed"),
            resources = ResourcesJson(monitor.Read()),
        }, report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    internal static object ResourcesJson(SystemResources r)
    {
        var memory = Usage(r.MemoryTotalBytes, r.MemoryAvailableBytes, "available_gb");
        memory["process_bytes"] = r.ProcessMemoryBytes;
        return new
        {
            cpu = new { usage_percent = r.CpuUsagePercent, process_usage_percent = r.ProcessCpuUsagePercent, cores = r.CpuCores },
            memory,
            disk = Usage(r.DiskTotalBytes, r.DiskFreeBytes, "free_gb"),
            load_average = r.LoadAverage,
        };
    }

    // Memory and disk alike (seed 004's names): total, used and free in GB, and the percentage used.
    internal static Dictionary<string, object> Usage(long total, long free, string freeName) => new()
    {
        ["total_gb"] = Math.Round(total / GiB, 2),
        ["used_gb"] = Math.Round((total - free) / GiB, 2),
        [freeName] = Math.Round(free / GiB, 2),
        ["usage_percent"] = total == 0 ? 0 : Math.Round(100.0 * (total - free) / total, 1),
    };

    internal static string ServiceVersion => typeof(ModelKitEndpointRouteBuilderExtensions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
