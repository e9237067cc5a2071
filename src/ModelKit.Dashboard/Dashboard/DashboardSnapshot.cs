using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Downloads;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace ModelKit.Dashboard;

/// <summary>Everything one refresh of the page shows, read from the app's ModelKit services at one moment.</summary>
internal sealed record DashboardSnapshot
{
    public required DateTimeOffset At { get; init; }
    public required IReadOnlyList<ModelInfo> Models { get; init; }
    /// <summary>Set when the registry could not be read (its database is down): the models panel says so.</summary>
    public string? ModelsProblem { get; init; }
    public required IReadOnlyList<DeploymentInfo> Deployments { get; init; }
    public required IReadOnlyDictionary<string, IReadOnlyList<DeploymentLogEntry>> Logs { get; init; }
    public required ModelCacheStats Cache { get; init; }
    public required IReadOnlyDictionary<string, BatchQueueStats> Queues { get; init; }
    public required IReadOnlyList<ModelHistory> History { get; init; }
    public required SystemResources System { get; init; }
    /// <summary>Null when the app has no downloads service.</summary>
    public IReadOnlyList<DownloadTaskInfo>? Downloads { get; init; }
    public required TimeSpan HistoryLength { get; init; }

    /// <summary>Reads the services. Parts that fail are reported in the snapshot rather than failing the page.</summary>
    public static async Task<DashboardSnapshot> ReadAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var options = services.GetRequiredService<IOptions<ModelKitDashboardOptions>>().Value;
        var deploymentManager = services.GetRequiredService<IDeploymentManager>();
        var router = services.GetRequiredService<IModelRouter>();
        var sampler = services.GetRequiredService<DashboardSampler>();
        IReadOnlyList<ModelInfo> models = [];
        string? modelsProblem = null;
        try
        {
            models = await ListModelsAsync(services.GetRequiredService<IModelRegistry>(), cancellationToken);
        }
        catch (RegistryUnavailableException ex)
        {
            modelsProblem = ex.Message;
        }

        var deployments = deploymentManager.ListDeployments();
        var logs = new Dictionary<string, IReadOnlyList<DeploymentLogEntry>>(StringComparer.Ordinal);
        foreach (var deployment in deployments)
        {
            try
            {
                logs[deployment.DeploymentId] = await deploymentManager.GetLogsAsync(deployment.DeploymentId, Math.Clamp(options.LogLines, 1, 500), cancellationToken);
            }
            catch (ModelKitException)
            {
                logs[deployment.DeploymentId] = []; // deleted meanwhile, or its node cannot be asked
            }
        }

        IReadOnlyList<DownloadTaskInfo>? downloads = null;
        if (services.GetService<IDownloadManager>() is { } downloadManager)
        {
            try
            {
                downloads = (await downloadManager.ListAsync(new DownloadQuery { Limit = 50 }, cancellationToken)).Items;
            }
            catch (RegistryUnavailableException)
            {
                downloads = [];
            }
        }

        return new DashboardSnapshot
        {
            At = DateTimeOffset.UtcNow,
            Models = models,
            ModelsProblem = modelsProblem,
            Deployments = deployments,
            Logs = logs,
            Cache = services.GetRequiredService<IModelCache>().GetStats(),
            Queues = QueuesByModel(router, models, deployments, sampler),
            History = [.. sampler.Models.Order(StringComparer.Ordinal).Select(sampler.History).OfType<ModelHistory>()],
            System = services.GetRequiredService<SystemMonitor>().Read(),
            Downloads = downloads,
            HistoryLength = options.History,
        };
    }

    // Each model's queues added up (its deployments' and any on-demand queue of a version), for the models that have one.
    private static Dictionary<string, BatchQueueStats> QueuesByModel(IModelRouter router, IReadOnlyList<ModelInfo> models, IReadOnlyList<DeploymentInfo> deployments, DashboardSampler sampler)
    {
        var ids = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var model in models) ids.Add(model.Id);
        foreach (var deployment in deployments) ids.Add(deployment.ModelId);
        foreach (var model in sampler.Models) ids.Add(model);
        var queues = new Dictionary<string, BatchQueueStats>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var stats = router.GetQueueStats(id);
            if (stats.Instances > 0 || stats.Enqueued > 0) queues[id] = stats;
        }

        return queues;
    }

    private static async Task<IReadOnlyList<ModelInfo>> ListModelsAsync(IModelRegistry registry, CancellationToken cancellationToken)
    {
        var all = new List<ModelInfo>();
        for (var offset = 0; ; offset += 200)
        {
            var page = await registry.ListModelsAsync(new ModelQuery { Offset = offset, Limit = 200 }, cancellationToken);
            all.AddRange(page.Items);
            if (page.Items.Count == 0 || all.Count >= page.Total || all.Count >= 1000) return all;
        }
    }
}
