using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace ModelKit.Deployments;

/// <summary>
/// Brings deployments up in the background (prepare → load → warm up → register), serves each through its own
/// <see cref="BatchQueue"/> whose instances are the replicas, autoscales on queue depth, rolls new versions in
/// next to the old ones and drains what the old ones had. One deployment per model is active at a time.
/// </summary>
public sealed partial class DeploymentManager : IDeploymentManager, IAsyncDisposable
{
    internal static readonly string[] StageNames = ["preparation", "model_loading", "warmup", "service_registration"];

    /// <summary>The stage before the others of a deployment whose model is downloaded first.</summary>
    internal const string DownloadStage = "download";

    private readonly DeploymentTable _table;
    private readonly IModelRegistry _registry;
    private readonly IModelCache _cache;
    private readonly ModelRouter _router;
    private readonly DeploymentOptions _options;
    private readonly InferenceOptions _inferenceOptions;
    private readonly TimeProvider _timeProvider;
    private readonly ModelKitMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ITimer _autoscaler;
    private readonly IDeploymentStore? _store;
    private readonly Downloads.IDownloadManager? _downloads;
    private int _disposed;

    /// <summary>Creates the manager; the autoscaler starts at once.</summary>
    public DeploymentManager(
        IModelRegistry registry,
        IModelCache cache,
        ModelRouter router,
        IOptions<DeploymentOptions> options,
        IOptions<InferenceOptions> inferenceOptions,
        TimeProvider? timeProvider = null,
        ModelKitMetrics? metrics = null,
        ILogger<DeploymentManager>? logger = null,
        IOptions<ModelKitOptions>? storage = null,
        Downloads.IDownloadManager? downloads = null)
        : this(new DeploymentTable(), registry, cache, router, options, inferenceOptions, timeProvider, metrics, logger, storage, downloads)
    {
    }

    internal DeploymentManager(
        DeploymentTable table,
        IModelRegistry registry,
        IModelCache cache,
        ModelRouter router,
        IOptions<DeploymentOptions> options,
        IOptions<InferenceOptions> inferenceOptions,
        TimeProvider? timeProvider,
        ModelKitMetrics? metrics,
        ILogger<DeploymentManager>? logger,
        IOptions<ModelKitOptions>? storage,
        Downloads.IDownloadManager? downloads = null,
        IDeploymentStore? store = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(inferenceOptions);
        _table = table ?? throw new ArgumentNullException(nameof(table));
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
        _router = router ?? throw new ArgumentNullException(nameof(router));
        _router.AttachDeployments(_table);
        _options = options.Value;
        _inferenceOptions = inferenceOptions.Value;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _metrics = metrics ?? new ModelKitMetrics();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _downloads = downloads;
        if (store is not null) _store = store;
        else if (_options.Persist && storage?.Value.DataDirectory is { Length: > 0 } data)
        {
            Directory.CreateDirectory(data);
            _store = new DeploymentStore(Path.Combine(Path.GetFullPath(data), "deployments.json"));
        }

        _table.ForcedDelete += OnForcedDelete;
        _autoscaler = _timeProvider.CreateTimer(static s => ((DeploymentManager)s!).Autoscale(), this, _options.AutoscaleInterval, _options.AutoscaleInterval);
    }

    /// <summary>Tells the registry which model versions are deployed.</summary>
    internal IModelUsageGuard UsageGuard => _table;

    /// <inheritdoc />
    public async Task<DeploymentInfo> DeployAsync(DeploymentSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var id = spec.DeploymentId ?? "dep-" + Guid.NewGuid().ToString("N")[..12];
        if (!IsValidId(id)) throw new InvalidModelConfigException($"Deployment id '{ClientText.Quote(id)}' is not valid: use 1-128 letters, digits, '.', '_' or '-'.");
        if (string.IsNullOrWhiteSpace(spec.ModelId)) throw new InvalidModelConfigException("'model_id' is required.");

        var device = ExecutionDevice.Parse(spec.Device ?? _inferenceOptions.DefaultDevice);
        var batching = spec.Batching ?? _inferenceOptions.DefaultBatching;
        var min = spec.MinReplicas ?? (spec.MaxReplicas is null ? spec.Replicas : 1);
        var max = spec.MaxReplicas ?? Math.Max(spec.Replicas, min);
        ValidateScaling(spec.Replicas, min, max, spec.TargetQueueDepth);
        batching.Validate();
        if (spec.MemoryRequestBytes is <= 0) throw new InvalidModelConfigException($"The memory request must be positive (was {spec.MemoryRequestBytes}).");
        if (spec.IntraOpThreads is < 1 or > 1024) throw new InvalidModelConfigException($"Intra-op threads must be 1..1024 (was {spec.IntraOpThreads}).");
        spec.Generation?.Validate();

        ModelInfo? model = null;
        ModelVersionInfo? version = null;
        var source = spec.Source is not null && await _registry.FindModelAsync(spec.ModelId, cancellationToken).ConfigureAwait(false) is null ? spec.Source : null;
        if (source is not null)
        {
            // Not in the registry yet: the deployment is added first (its checks refuse a second deployment of the model before
            // anything is fetched), then the download starts (a bad source or model fails here, removing the deployment), and
            // the deployment comes up once the download has registered the model.
            if (_downloads is null) throw new InvalidModelConfigException("Deploying from a source needs a download manager; none is configured.");
        }
        else
        {
            (model, version) = await _router.FindServableAsync(spec.ModelId, spec.Version, cancellationToken).ConfigureAwait(false);
        }

        var downloadTaskId = source is null ? null : string.Empty;

        var now = _timeProvider.GetUtcNow();
        var deployment = new Deployment(id, model?.Id ?? spec.ModelId, _options.MaxLogEntries, downloadTaskId)
        {
            DownloadSource = downloadTaskId is null ? null : spec.Source!.Source.ToLowerInvariant(),
            Framework = model?.Framework ?? "onnx",
            Version = version?.Version ?? spec.Version ?? "1",
            VersionInfo = version,
            Device = device,
            Batching = batching,
            Desired = Math.Clamp(spec.Replicas, Math.Max(1, min), max),
            Min = min,
            Max = max,
            TargetQueueDepth = spec.TargetQueueDepth,
            MemoryRequest = spec.MemoryRequestBytes,
            DefaultPriority = spec.DefaultPriority,
            IntraOpThreads = spec.IntraOpThreads ?? _inferenceOptions.IntraOpThreads,
            Generation = spec.Generation,
            Environment = spec.Environment is null ? new Dictionary<string, string>() : new Dictionary<string, string>(spec.Environment, StringComparer.Ordinal),
            CreatedAt = now,
            UpdatedAt = now,
        };

        _table.Add(deployment, _cache.GetStats().MemoryLimitBytes);
        if (source is not null)
        {
            try
            {
                deployment.DownloadTaskId = (await StartOrJoinDownloadAsync(source, spec, cancellationToken).ConfigureAwait(false)).Id;
            }
            catch
            {
                _table.Remove(deployment);
                throw;
            }
        }

        deployment.AddLog(now, LogLevel.Information, downloadTaskId is null
            ? $"Deploying model '{deployment.ModelId}' version {deployment.Version} on {device} with {deployment.Desired} replica(s)."
            : $"Deploying model '{deployment.ModelId}' on {device} with {deployment.Desired} replica(s) once download {deployment.DownloadTaskId} has brought it into the registry.");
        deployment.DesiredRunning = true;
        StartBringUp(deployment);
        Persist();
        return deployment.Snapshot(_cache);
    }

    // A download of the same model to the same version that has not finished (an earlier deployment's, deleted meanwhile,
    // or one started by hand) is joined rather than started twice.
    private async Task<Downloads.DownloadTaskInfo> StartOrJoinDownloadAsync(Downloads.DownloadRequest source, DeploymentSpec spec, CancellationToken cancellationToken)
    {
        var version = spec.Version ?? "1";
        var unfinished = await _downloads!.ListAsync(new Downloads.DownloadQuery
        {
            Statuses = [Downloads.DownloadStatus.Pending, Downloads.DownloadStatus.Downloading, Downloads.DownloadStatus.Paused, Downloads.DownloadStatus.Registering],
            Limit = 1000,
        }, cancellationToken).ConfigureAwait(false);
        foreach (var task in unfinished.Items)
        {
            if (task.TargetModelId == spec.ModelId && (task.Request.Version ?? "1") == version) return task;
        }

        return await _downloads.StartAsync(source with { RegisterAs = spec.ModelId, Version = version }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<DeploymentInfo> WaitUntilRunningAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var deployment = _table.Get(deploymentId);
        await deployment.WaitForSettledAsync(cancellationToken).ConfigureAwait(false);
        var info = deployment.Snapshot(_cache);
        return info.State switch
        {
            DeploymentState.Running => info,
            DeploymentState.Failed => throw new DeploymentFailedException($"Deployment '{deploymentId}' failed: {info.FailureReason}"),
            _ => throw new ModelKitConflictException($"Deployment '{deploymentId}' is {Name(info.State)}, not running."),
        };
    }

    /// <inheritdoc />
    public DeploymentInfo GetDeployment(string deploymentId) => _table.Get(deploymentId).Snapshot(_cache);

    /// <inheritdoc />
    public DeploymentInfo? FindDeployment(string deploymentId) => _table.Find(deploymentId)?.Snapshot(_cache);

    /// <inheritdoc />
    public DeploymentInfo? FindByModel(string modelId) => _table.FindActive(modelId)?.Snapshot(_cache);

    /// <inheritdoc />
    public IReadOnlyList<DeploymentInfo> ListDeployments(DeploymentState? state = null)
    {
        var result = new List<DeploymentInfo>();
        foreach (var d in _table.All())
        {
            var info = d.Snapshot(_cache);
            if (state is null || info.State == state) result.Add(info);
        }

        result.Sort(static (a, b) => a.CreatedAt != b.CreatedAt ? a.CreatedAt.CompareTo(b.CreatedAt) : string.CompareOrdinal(a.DeploymentId, b.DeploymentId));
        return result;
    }

    /// <inheritdoc />
    public IReadOnlyList<DeploymentLogEntry> GetLogs(string deploymentId, int lines = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lines, 1);
        return _table.Get(deploymentId).GetLogs(lines);
    }

    /// <inheritdoc />
    public DeploymentInfo Scale(string deploymentId, int replicas, int? minReplicas = null, int? maxReplicas = null)
    {
        var d = _table.Get(deploymentId);
        lock (d.Gate)
        {
            var min = minReplicas ?? Math.Min(d.Min, replicas);
            var max = maxReplicas ?? Math.Max(d.Max, replicas);
            ValidateScaling(replicas, min, max, d.TargetQueueDepth);
            var from = d.Desired;
            ApplyBoundsLocked(d, min, max);
            SetReplicasLocked(d, replicas, $"Scaled from {from} to {replicas} replica(s) (bounds {min}..{max}).");
            d.IdleChecks = 0; // the autoscaler counts idle checks from the operator's choice, not from before it
        }

        Persist();
        return d.Snapshot(_cache);
    }

    /// <inheritdoc />
    public async Task<DeploymentInfo> UpdateAsync(string deploymentId, DeploymentUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var d = _table.Get(deploymentId);
        await d.Operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ServedModel current;
            lock (d.Gate)
            {
                if (d.State != DeploymentState.Running || d.Runtime is null)
                {
                    throw new ModelKitConflictException($"Deployment '{deploymentId}' is {Name(d.State)}; only a running deployment can be updated.");
                }

                current = d.Runtime;
            }

            var device = update.Device is null ? d.Device : ExecutionDevice.Parse(update.Device);
            var batching = update.Batching ?? d.Batching;
            batching.Validate();
            var replicas = update.Replicas ?? d.Desired;
            var min = update.MinReplicas ?? Math.Min(d.Min, replicas);
            var max = update.MaxReplicas ?? Math.Max(d.Max, replicas);
            var target = update.TargetQueueDepth ?? d.TargetQueueDepth;
            ValidateScaling(replicas, min, max, target);
            if (update.MemoryRequestBytes is <= 0) throw new InvalidModelConfigException($"The memory request must be positive (was {update.MemoryRequestBytes}).");
            if (update.MemoryRequestBytes is { } request) _table.CheckMemory(d, request, _cache.GetStats().MemoryLimitBytes);

            ModelInfo? model = null;
            ModelVersionInfo? version = null;
            if (update.Version is not null && update.Version != d.Version)
            {
                (model, version) = await _router.FindServableAsync(d.ModelId, update.Version, cancellationToken).ConfigureAwait(false);
            }

            var roll = version is not null || device != d.Device || batching != d.Batching;
            lock (d.Gate)
            {
                d.TargetQueueDepth = target;
                if (update.MemoryRequestBytes is { } bytes) d.MemoryRequest = bytes;
                if (update.DefaultPriority is { } priority) d.DefaultPriority = priority;
                if (update.Environment is { } environment) d.Environment = new Dictionary<string, string>(environment, StringComparer.Ordinal);
                if (!roll) current.DefaultPriority = d.DefaultPriority;
                ApplyBoundsLocked(d, min, max);
                if (replicas != d.Desired) SetReplicasLocked(d, replicas, $"Scaled from {d.Desired} to {replicas} replica(s).");
                d.Touch(_timeProvider.GetUtcNow());
            }

            if (roll)
            {
                await RollAsync(d, current, model?.Framework ?? d.Framework, version, device, batching, cancellationToken).ConfigureAwait(false);
            }

            Persist();
            return d.Snapshot(_cache);
        }
        finally
        {
            d.Operation.Release();
        }
    }

    /// <inheritdoc />
    public async Task<DeploymentInfo> StopAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var d = _table.Get(deploymentId);
        await d.Operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            d.DesiredRunning = false;
            await StopCoreAsync(d).ConfigureAwait(false);
            Persist();
            return d.Snapshot(_cache);
        }
        finally
        {
            d.Operation.Release();
        }
    }

    /// <inheritdoc />
    public async Task<DeploymentInfo> StartAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var d = _table.Get(deploymentId);
        await d.Operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (d.Gate)
            {
                if (d.State is not (DeploymentState.Stopped or DeploymentState.Failed)) return d.Snapshot(_cache);
            }

            // A deployment still waiting for its download waits again (a failed download is resumed; a cancelled or deleted
            // one cannot be: deploy again); the others check their version is still servable.
            if (d.DownloadTaskId is { Length: > 0 } taskId && _downloads is not null
                && await _registry.FindModelAsync(d.ModelId, cancellationToken).ConfigureAwait(false) is null)
            {
                Downloads.DownloadTaskInfo? task = null;
                try
                {
                    task = await _downloads.GetAsync(taskId, cancellationToken).ConfigureAwait(false);
                }
                catch (DownloadNotFoundException)
                {
                    // Deleted.
                }

                if (task is null || task.Status == Downloads.DownloadStatus.Cancelled)
                {
                    throw new ModelKitConflictException($"Deployment '{d.Id}' cannot start again: its download {taskId} was {(task is null ? "deleted" : "cancelled")}. Delete it and deploy the model again.");
                }

                if (task.Status == Downloads.DownloadStatus.Failed) await _downloads.ResumeAsync(taskId, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var (model, version) = await _router.FindServableAsync(d.ModelId, d.Version, cancellationToken).ConfigureAwait(false);
                lock (d.Gate)
                {
                    d.Framework = model.Framework;
                    d.VersionInfo = version;
                }
            }

            _table.Activate(d, _cache.GetStats().MemoryLimitBytes);
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, "Starting again.");
            d.DesiredRunning = true;
            StartBringUp(d);
            Persist();
            return d.Snapshot(_cache);
        }
        finally
        {
            d.Operation.Release();
        }
    }

    /// <inheritdoc />
    public async Task<DeploymentInfo> RestartAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        await StopAsync(deploymentId, cancellationToken).ConfigureAwait(false);
        return await StartAsync(deploymentId, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public DeploymentInfo? FindLatestByModel(string modelId)
    {
        if (_table.FindActive(modelId) is { } active) return active.Snapshot(_cache);
        Deployment? latest = null;
        foreach (var d in _table.All())
        {
            if (d.ModelId == modelId && (latest is null || d.CreatedAt > latest.CreatedAt || (d.CreatedAt == latest.CreatedAt && string.CompareOrdinal(d.Id, latest.Id) > 0))) latest = d;
        }

        return latest?.Snapshot(_cache);
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        var d = _table.Get(deploymentId);
        await d.Operation.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await StopCoreAsync(d).ConfigureAwait(false);
            _table.Remove(d);
            _cache.Remove(new ModelCacheKey(d.ModelId, d.Version, d.Device));
            Persist();
            Log.DeploymentState(_logger, d.Id, "deleted");
        }
        finally
        {
            d.Operation.Release();
        }
    }

    /// <summary>Stops the autoscaler and every deployment without draining.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _autoscaler.DisposeAsync().ConfigureAwait(false);
        foreach (var d in _table.All())
        {
            d.CancelBringUp();
            var runtime = d.Runtime;
            if (runtime is not null) await runtime.Queue.DisposeAsync().ConfigureAwait(false);
        }
    }

    // The registry deleted what a deployment serves (force): stop it; its record stays with the reason in its log.
    private void OnForcedDelete(Deployment d, string? version)
    {
        d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Warning, version is null
            ? $"Model '{d.ModelId}' was deleted from the registry (forced); stopping."
            : $"Version {version} of model '{d.ModelId}' was deleted from the registry (forced); stopping.");
        _ = Task.Run(async () =>
        {
            try
            {
                await StopAsync(d.Id).ConfigureAwait(false);
            }
            catch (DeploymentNotFoundException)
            {
                // Deleted meanwhile.
            }
        });
    }

    private static bool IsValidId(string id)
    {
        if (id.Length is 0 or > 128) return false;
        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) return false;
        }

        return true;
    }

    internal static string Name(DeploymentState state) => state switch
    {
        DeploymentState.Pending => "pending",
        DeploymentState.Loading => "loading",
        DeploymentState.Running => "running",
        DeploymentState.Stopping => "stopping",
        DeploymentState.Stopped => "stopped",
        _ => "failed",
    };
}
