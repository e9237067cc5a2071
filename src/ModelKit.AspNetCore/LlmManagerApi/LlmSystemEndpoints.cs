using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace ModelKit.AspNetCore;

/// <summary>Seed 004's health and system endpoints.</summary>
internal static class LlmSystemEndpoints
{
    private const double GiB = 1L << 30;

    /// <summary>ModelKit's name in health answers (the seed's original service called itself <c>llm-manager-api</c>).</summary>
    public const string Service = "modelkit";

    // GET /health and GET /api/health: bare objects, as the seed shows them; 503 when a check fails.
    public static async Task<IResult> ServiceHealthAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        return ModelKitJson.Json(new LlmServiceHealth(ModelKitJson.Name(report.Status), Service, Version, Checks(report)), StatusOf(report));
    }

    public static async Task<IResult> ApiHealthAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        return ModelKitJson.Json(new LlmApiHealth(ModelKitJson.Name(report.Status), "v1", Service, Checks(report)), StatusOf(report));
    }

    public static IResult Resources(SystemMonitor monitor) => LlmManager.Ok(ResourcesOf(monitor.Read()));

    public static IResult Load(SystemMonitor monitor, IModelRouter router, IDeploymentManager deployments)
    {
        var r = monitor.Read();
        var total = BatchQueueStats.Sum(router.GetQueueStats().Values);
        return LlmManager.Ok(new LlmLoad(
            r.LoadAverage,
            CpuOf(r),
            new LlmThreadPool(r.ThreadPoolThreads, r.ThreadPoolQueueLength),
            new LlmInferenceLoad(total.QueueLength, total.Running, total.Instances, deployments.ListDeployments(DeploymentState.Running).Count,
                total.Succeeded == 0 ? null : Math.Round(total.AverageLatency.TotalMilliseconds, 3))));
    }

    // The rules are the health checks' (Core): unhealthy when a readiness check fails, degraded while a deployment has failed.
    public static async Task<IResult> SystemHealthAsync(HealthCheckService health, SystemMonitor monitor, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        var deployments = report.Entries.TryGetValue("deployments", out var entry) ? entry.Data : null;
        var data = new LlmSystemHealth(
            ModelKitJson.Name(report.Status), Checks(report), deployments?.GetValueOrDefault("by_state"), deployments?.GetValueOrDefault("failed"), ResourcesOf(monitor.Read()));
        return report.Status == HealthStatus.Unhealthy
            ? LlmManager.Failure(StatusCodes.Status503ServiceUnavailable, "UNHEALTHY", "A health check failed; 'data.checks' names it.", data)
            : LlmManager.Ok(data, report.Status == HealthStatus.Healthy ? "healthy" : "degraded");
    }

    public static IResult Live() => ModelKitJson.Json(new LivenessProbe("alive", Service, Version));

    // Not ready when a check fails; served models that cannot serve (artifacts missing or corrupt) are named.
    public static async Task<IResult> ReadyAsync(HealthCheckService health, IModelRouter router, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(r => r.Tags.Contains("ready"), cancellationToken);
        var ready = report.Status != HealthStatus.Unhealthy;
        var unavailable = router.GetUnavailable();
        return ModelKitJson.Json(new ReadinessProbe(
            ready ? "ready" : "not_ready",
            report.Entries.ToDictionary(e => e.Key, e => ModelKitJson.Name(e.Value.Status)),
            [.. unavailable.Select(u => new UnavailableModel(u.ModelId, u.Version, u.DeploymentId, u.Reason))]), ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    public static LlmResources ResourcesOf(SystemResources r) => new(
        CpuOf(r),
        Usage(r.MemoryTotalBytes, r.MemoryAvailableBytes, memory: true) with { ProcessBytes = r.ProcessMemoryBytes },
        Usage(r.DiskTotalBytes, r.DiskFreeBytes, memory: false),
        r.LoadAverage);

    /// <summary>Bytes in GB (binary), two decimals, as seed 004 writes sizes.</summary>
    public static double Gb(long bytes) => Math.Round(bytes / GiB, 2);

    // Memory and disk alike (seed 004's names): total, used and free in GB, and the percentage used.
    public static LlmUsage Usage(long total, long free, bool memory) => new()
    {
        TotalGb = Gb(total),
        UsedGb = Gb(total - free),
        AvailableGb = memory ? Gb(free) : null,
        FreeGb = memory ? null : Gb(free),
        UsagePercent = total == 0 ? 0 : Math.Round(100.0 * (total - free) / total, 1),
    };

    private static LlmCpu CpuOf(SystemResources r) => new(r.CpuUsagePercent, r.CpuCores, r.ProcessCpuUsagePercent, r.CpuModelName);

    private static Dictionary<string, LlmCheck> Checks(HealthReport report) =>
        report.Entries.ToDictionary(e => e.Key, e => new LlmCheck(ModelKitJson.Name(e.Value.Status), e.Value.Description));

    private static int StatusOf(HealthReport report) => report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK;

    private static string Version => typeof(LlmSystemEndpoints).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
