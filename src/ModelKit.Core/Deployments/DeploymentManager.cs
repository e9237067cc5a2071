using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Deployments;

/// <summary>
/// Brings deployments up in the background (prepare → load → warm up → register), serves each through its own
/// <see cref="BatchQueue"/> whose instances are the replicas, autoscales on queue depth, rolls new versions in
/// next to the old ones and drains what the old ones had. One deployment per model is active at a time.
/// </summary>
public sealed class DeploymentManager : IDeploymentManager, IAsyncDisposable
{
    internal static readonly string[] StageNames = ["preparation", "model_loading", "warmup", "service_registration"];

    private readonly DeploymentTable _table;
    private readonly IModelRegistry _registry;
    private readonly IModelCache _cache;
    private readonly DeploymentOptions _options;
    private readonly InferenceOptions _inferenceOptions;
    private readonly TimeProvider _timeProvider;
    private readonly ModelKitMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ITimer _autoscaler;
    private readonly DeploymentStore? _store;
    private int _disposed;

    /// <summary>Creates the manager; the autoscaler starts at once.</summary>
    public DeploymentManager(
        IModelRegistry registry,
        IModelCache cache,
        IOptions<DeploymentOptions> options,
        IOptions<InferenceOptions> inferenceOptions,
        TimeProvider? timeProvider = null,
        ModelKitMetrics? metrics = null,
        ILogger<DeploymentManager>? logger = null,
        IOptions<ModelKitOptions>? storage = null)
        : this(new DeploymentTable(), registry, cache, options, inferenceOptions, timeProvider, metrics, logger, storage)
    {
    }

    internal DeploymentManager(
        DeploymentTable table,
        IModelRegistry registry,
        IModelCache cache,
        IOptions<DeploymentOptions> options,
        IOptions<InferenceOptions> inferenceOptions,
        TimeProvider? timeProvider,
        ModelKitMetrics? metrics,
        ILogger<DeploymentManager>? logger,
        IOptions<ModelKitOptions>? storage)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(inferenceOptions);
        _table = table ?? throw new ArgumentNullException(nameof(table));
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
        _options = options.Value;
        _inferenceOptions = inferenceOptions.Value;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _metrics = metrics ?? new ModelKitMetrics();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        if (_options.Persist && storage?.Value.DataDirectory is { Length: > 0 } data)
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
        if (!IsValidId(id)) throw new InvalidModelConfigException($"Deployment id '{id}' is not valid: use 1-128 letters, digits, '.', '_' or '-'.");
        if (string.IsNullOrWhiteSpace(spec.ModelId)) throw new InvalidModelConfigException("'model_id' is required.");

        var device = ExecutionDevice.Parse(spec.Device ?? _inferenceOptions.DefaultDevice);
        var batching = spec.Batching ?? _inferenceOptions.DefaultBatching;
        var min = spec.MinReplicas ?? (spec.MaxReplicas is null ? spec.Replicas : 1);
        var max = spec.MaxReplicas ?? Math.Max(spec.Replicas, min);
        ValidateScaling(spec.Replicas, min, max, spec.TargetQueueDepth);
        batching.Validate();
        if (spec.MemoryRequestBytes is <= 0) throw new InvalidModelConfigException($"The memory request must be positive (was {spec.MemoryRequestBytes}).");
        if (spec.IntraOpThreads is < 1 or > 1024) throw new InvalidModelConfigException($"Intra-op threads must be 1..1024 (was {spec.IntraOpThreads}).");

        var (model, version) = await ResolveVersionAsync(spec.ModelId, spec.Version, cancellationToken).ConfigureAwait(false);
        var now = _timeProvider.GetUtcNow();
        var deployment = new Deployment(id, model.Id, _options.MaxLogEntries)
        {
            Framework = model.Framework,
            Version = version.Version,
            Signature = version.Signature,
            ArtifactPath = version.Files[0].Path,
            Device = device,
            Batching = batching,
            Desired = Math.Clamp(spec.Replicas, Math.Max(1, min), max),
            Min = min,
            Max = max,
            TargetQueueDepth = spec.TargetQueueDepth,
            MemoryRequest = spec.MemoryRequestBytes,
            DefaultPriority = spec.DefaultPriority,
            IntraOpThreads = spec.IntraOpThreads ?? _inferenceOptions.IntraOpThreads,
            Environment = spec.Environment is null ? new Dictionary<string, string>() : new Dictionary<string, string>(spec.Environment, StringComparer.Ordinal),
            CreatedAt = now,
            UpdatedAt = now,
        };

        _table.Add(deployment, _cache.GetStats().MemoryLimitBytes);
        deployment.AddLog(now, LogLevel.Information, $"Deploying model '{model.Id}' version {version.Version} on {device} with {deployment.Desired} replica(s).");
        deployment.DesiredRunning = true;
        StartBringUp(deployment);
        Persist();
        return deployment.Snapshot(_cache);
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
            ModelRuntime current;
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
                (model, version) = await ResolveVersionAsync(d.ModelId, update.Version, cancellationToken).ConfigureAwait(false);
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

            var (model, version) = await ResolveVersionAsync(d.ModelId, d.Version, cancellationToken).ConfigureAwait(false);
            lock (d.Gate)
            {
                d.Framework = model.Framework;
                d.Signature = version.Signature;
                d.ArtifactPath = version.Files[0].Path;
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

    /// <summary>
    /// Brings back the deployments saved under the data directory (<see cref="DeploymentOptions.Persist"/>): those that
    /// were meant to run start coming up in the background, the stopped ones are listed as stopped. One whose model or
    /// version is gone is listed as failed with the reason. Deployments already known are left alone. The host calls
    /// this at start; call it yourself when you use the services without a host. Returns how many were restored.
    /// </summary>
    public async Task<int> RestoreAsync(CancellationToken cancellationToken = default)
    {
        if (_store is null) return 0;
        var restored = 0;
        foreach (var record in _store.Load())
        {
            if (_table.Find(record.DeploymentId) is not null) continue;
            var now = _timeProvider.GetUtcNow();
            ModelInfo? model = null;
            ModelVersionInfo? version = null;
            string? failure = null;
            try
            {
                (model, version) = await ResolveVersionAsync(record.ModelId, record.Version, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelKitException ex)
            {
                failure = ex.Message;
            }

            var d = new Deployment(record.DeploymentId, record.ModelId, _options.MaxLogEntries)
            {
                Framework = model?.Framework ?? "onnx",
                Version = record.Version,
                Signature = version?.Signature,
                ArtifactPath = version?.Files[0].Path ?? string.Empty,
                Device = ExecutionDevice.TryParse(record.Device, out var device) ? device : ExecutionDevice.Cpu,
                Batching = new BatchingOptions
                {
                    MaxBatchSize = record.MaxBatchSize,
                    MaxQueueDelay = TimeSpan.FromMilliseconds(record.MaxQueueDelayMs),
                    MaxQueueSize = record.MaxQueueSize,
                    InlineExecution = record.InlineExecution,
                },
                Desired = record.Replicas,
                Min = record.MinReplicas,
                Max = record.MaxReplicas,
                TargetQueueDepth = record.TargetQueueDepth,
                MemoryRequest = record.MemoryRequestBytes,
                DefaultPriority = record.DefaultPriority,
                IntraOpThreads = record.IntraOpThreads,
                CreatedAt = record.CreatedAt,
                UpdatedAt = now,
                DesiredRunning = record.Running,
                Environment = record.Environment ?? new Dictionary<string, string>(),
                State = failure is null ? DeploymentState.Stopped : DeploymentState.Failed,
                FailureReason = failure is null ? null : "Could not be restored: " + failure,
                FailureCode = failure is null ? null : ModelKitErrorCodes.DeploymentFailed,
            };
            _table.AddInactive(d);
            d.SetSettled();
            d.AddLog(now, failure is null ? LogLevel.Information : LogLevel.Error,
                failure is null ? $"Restored from {_store.Path}." : $"Could not be restored from {_store.Path}: {failure}");
            restored++;
            if (failure is not null || !record.Running) continue;
            try
            {
                _table.Activate(d, _cache.GetStats().MemoryLimitBytes);
                StartBringUp(d);
            }
            catch (ModelKitException ex)
            {
                lock (d.Gate)
                {
                    d.State = DeploymentState.Failed;
                    d.FailureReason = "Could not be restored: " + ex.Message;
                    d.FailureCode = ex.ErrorCode;
                }

                d.AddLog(now, LogLevel.Error, "Could not start: " + ex.Message);
            }
        }

        return restored;
    }

    private void Persist()
    {
        if (_store is null) return;
        try
        {
            _store.Save(_table.All().Select(static d => d.ToRecord()));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.DeploymentsNotSaved(_logger, _store.Path, ex);
        }
    }

    /// <summary>The runtime of the running deployment of <paramref name="modelId"/> when it serves <paramref name="version"/> (any when null).</summary>
    internal bool TryGetRuntime(string modelId, string? version, out ModelRuntime runtime, out DeploymentState? state)
    {
        var d = _table.FindActive(modelId);
        state = d?.State;
        var r = d?.Runtime;
        if (r is not null && state == DeploymentState.Running && (version is null || version == r.Version))
        {
            runtime = r;
            return true;
        }

        runtime = null!;
        return false;
    }

    /// <summary>The id of the active deployment of <paramref name="modelId"/>, or null.</summary>
    internal string? FindActiveId(string modelId) => _table.FindActive(modelId)?.Id;

    /// <summary>Queue counters of every running deployment, keyed by deployment id.</summary>
    internal IEnumerable<(string DeploymentId, ModelRuntime Runtime)> RunningRuntimes()
    {
        foreach (var d in _table.All())
        {
            if (d.Runtime is { } r) yield return (d.Id, r);
        }
    }

    /// <summary>Looks at every autoscaled deployment once (the timer calls it every <see cref="DeploymentOptions.AutoscaleInterval"/>).</summary>
    internal void Autoscale()
    {
        foreach (var d in _table.All())
        {
            lock (d.Gate)
            {
                if (d.State != DeploymentState.Running || d.Runtime is not { } runtime || d.Max <= Math.Max(1, d.Min)) continue;
                var stats = runtime.Queue.GetStats();
                var floor = Math.Max(1, d.Min);
                if (stats.QueueLength > d.TargetQueueDepth * d.Desired && d.Desired < d.Max)
                {
                    d.IdleChecks = 0;
                    SetReplicasLocked(d, d.Desired + 1, $"Autoscaler: {stats.QueueLength} requests queued for {d.Desired} replica(s) (target {d.TargetQueueDepth} each); scaling up to {d.Desired + 1}.");
                }
                else if (stats.QueueLength == 0 && stats.Running < d.Desired && d.Desired > floor)
                {
                    if (++d.IdleChecks >= _options.ScaleDownAfterIdleChecks)
                    {
                        d.IdleChecks = 0;
                        SetReplicasLocked(d, d.Desired - 1, $"Autoscaler: idle for {_options.ScaleDownAfterIdleChecks} checks; scaling down to {d.Desired - 1}.");
                    }
                }
                else
                {
                    d.IdleChecks = 0;
                }
            }
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

    private void StartBringUp(Deployment d)
    {
        var cts = new CancellationTokenSource();
        lock (d.Gate)
        {
            d.ResetStages();
            d.State = DeploymentState.Pending;
            d.FailureReason = null;
            d.FailureCode = null;
            d.BringUp = cts;
            d.Touch(_timeProvider.GetUtcNow());
            d.ResetSettled();
        }

        d.BringUpTask = Task.Run(() => BringUpAsync(d, cts.Token), CancellationToken.None);
    }

    private async Task BringUpAsync(Deployment d, CancellationToken cancellationToken)
    {
        ModelCacheKey key;
        ModelLoadRequest load;
        bool pin;
        lock (d.Gate)
        {
            d.State = DeploymentState.Loading;
            key = new ModelCacheKey(d.ModelId, d.Version, d.Device);
            load = new ModelLoadRequest(d.ArtifactPath) { Framework = d.Framework, Device = d.Device, IntraOpThreads = d.IntraOpThreads };
            pin = d.Min > 0;
        }

        Log.DeploymentState(_logger, d.Id, "loading");
        var pinned = false;
        ModelRuntime? runtime = null;
        try
        {
            runtime = await PrepareRuntimeAsync(d, key, load, d.Signature, d.Batching, pin, cancellationToken).ConfigureAwait(false);
            pinned = pin;
            lock (d.Gate)
            {
                cancellationToken.ThrowIfCancellationRequested();
                d.Runtime = runtime;
                d.PinnedKey = pin ? key : null;
                d.State = DeploymentState.Running;
                d.StartedAt = _timeProvider.GetUtcNow();
                d.Touch(d.StartedAt.Value);
                d.AddLog(d.StartedAt.Value, LogLevel.Information, $"Running with {d.Desired} replica(s).");
            }

            Log.DeploymentState(_logger, d.Id, "running");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (pinned) _cache.Unpin(key);
            if (runtime is not null) await runtime.Queue.DisposeAsync().ConfigureAwait(false);
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, "Bring-up cancelled.");
        }
        catch (Exception ex)
        {
            if (pinned) _cache.Unpin(key);
            var reason = ex.Message;
            lock (d.Gate)
            {
                d.State = DeploymentState.Failed;
                d.FailureReason = reason;
                d.FailureCode = ex is ModelKitException mk ? mk.ErrorCode : ModelKitErrorCodes.DeploymentFailed;
                d.Touch(_timeProvider.GetUtcNow());
                d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Error, "Failed: " + reason);
            }

            _table.Deactivate(d);
            Log.DeploymentFailed(_logger, d.Id, reason, ex);
        }
        finally
        {
            d.SetSettled();
        }
    }

    // Runs the four stages for one runtime: checks, load (pinned when asked), warm-up, queue creation.
    private async Task<ModelRuntime> PrepareRuntimeAsync(
        Deployment d, ModelCacheKey key, ModelLoadRequest load, ModelSignature? signature, BatchingOptions batching, bool pin, CancellationToken cancellationToken)
    {
        d.BeginStage(0, _timeProvider);
        if (!File.Exists(load.ArtifactPath))
        {
            throw new InvalidModelConfigException($"The artifact of model '{key.ModelId}' version {key.Version} is missing from the store ({load.ArtifactPath}).");
        }

        d.EndStage(0, DeploymentStageStatus.Completed, null, _timeProvider);

        d.BeginStage(1, _timeProvider);
        d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Loading version {key.Version} on {key.Device}{(pin ? " (pinned)" : string.Empty)}.");
        await _cache.PreloadAsync(key, load, pin, cancellationToken).ConfigureAwait(false);
        try
        {
            var used = _cache.GetStats().Find(key)?.MemoryBytes;
            d.EndStage(1, DeploymentStageStatus.Completed, used is null ? null : $"{ModelCache.FormatBytes(used.Value)} in memory", _timeProvider);
            if (used is { } bytes && d.MemoryRequest is { } requested && bytes > requested)
            {
                d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Warning, $"The model uses {ModelCache.FormatBytes(bytes)}, more than the {ModelCache.FormatBytes(requested)} requested.");
            }

            d.BeginStage(2, _timeProvider);
            var (status, note) = _options.WarmUp ? await WarmUpAsync(key, load, signature, cancellationToken).ConfigureAwait(false) : (DeploymentStageStatus.Skipped, "warm-up is turned off");
            d.EndStage(2, status, note, _timeProvider);
            if (note is not null) d.AddLog(_timeProvider.GetUtcNow(), status == DeploymentStageStatus.Completed ? LogLevel.Information : LogLevel.Warning, "Warm-up: " + note);

            d.BeginStage(3, _timeProvider);
            ModelRuntime runtime;
            lock (d.Gate)
            {
                runtime = new ModelRuntime(key, load, signature, batching with { Instances = d.Desired }, d.DefaultPriority, d.Id, _cache, _timeProvider, _metrics, _logger);
            }

            d.EndStage(3, DeploymentStageStatus.Completed, null, _timeProvider);
            return runtime;
        }
        catch
        {
            if (pin) _cache.Unpin(key);
            throw;
        }
    }

    // One request of zeros (dynamic dimensions as 1) straight on a lease; a model with string inputs is skipped.
    private async Task<(DeploymentStageStatus, string?)> WarmUpAsync(ModelCacheKey key, ModelLoadRequest load, ModelSignature? signature, CancellationToken cancellationToken)
    {
        if (signature is null || signature.Inputs.Count == 0) return (DeploymentStageStatus.Skipped, "the model's inputs are not known");
        var inputs = new Dictionary<string, Tensor>(signature.Inputs.Count);
        foreach (var input in signature.Inputs)
        {
            if (input.ElementType == TensorElementType.String) return (DeploymentStageStatus.Skipped, $"input '{input.Name}' is a string tensor");
            var shape = new long[input.Shape.Count];
            for (var i = 0; i < shape.Length; i++) shape[i] = input.Shape[i] < 0 ? 1 : input.Shape[i];
            inputs[input.Name] = Tensor.Allocate(input.ElementType, shape);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            using var lease = await _cache.AcquireAsync(key, load, cancellationToken).ConfigureAwait(false);
            lease.Session.Run([inputs]);
            return (DeploymentStageStatus.Completed, $"one run took {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Zeros are not valid input for every model (an index out of range, say); real requests may still work.
            return (DeploymentStageStatus.Skipped, "a run on zeros failed: " + ex.Message);
        }
    }

    private async Task RollAsync(
        Deployment d, ModelRuntime current, string framework, ModelVersionInfo? version, ExecutionDevice device, BatchingOptions batching, CancellationToken cancellationToken)
    {
        var versionLabel = version?.Version ?? current.Version;
        var key = new ModelCacheKey(d.ModelId, versionLabel, device);
        var load = new ModelLoadRequest(version?.Files[0].Path ?? current.Load.ArtifactPath) { Framework = framework, Device = device, IntraOpThreads = d.IntraOpThreads };
        var signature = version is null ? current.Signature : version.Signature;
        bool pin;
        lock (d.Gate)
        {
            pin = d.Min > 0;
            d.UpdatingTo = versionLabel;
            d.ResetStages();
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Rolling update to version {versionLabel} on {device}; version {current.Version} keeps serving meanwhile.");
        }

        ModelRuntime next;
        try
        {
            next = await PrepareRuntimeAsync(d, key, load, signature, batching, pin, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            lock (d.Gate)
            {
                d.UpdatingTo = null;
                d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Error, $"Update to version {versionLabel} failed; version {current.Version} keeps serving: {ex.Message}");
            }

            Log.DeploymentFailed(_logger, d.Id, "update to version " + versionLabel + " failed: " + ex.Message, ex);
            if (ex is OperationCanceledException) throw;
            throw new DeploymentFailedException($"Updating deployment '{d.Id}' to version {versionLabel} failed; version {current.Version} keeps serving. {ex.Message}", ex);
        }

        ModelCacheKey? oldPinned;
        lock (d.Gate)
        {
            next.DefaultPriority = d.DefaultPriority;
            next.Queue.SetInstances(d.Desired);
            oldPinned = d.PinnedKey;
            d.Runtime = next;
            d.PinnedKey = pin ? key : null;
            d.Version = versionLabel;
            d.Device = device;
            d.Batching = batching;
            d.Framework = framework;
            d.Signature = signature;
            d.ArtifactPath = load.ArtifactPath;
            d.UpdatingTo = null;
            d.Touch(_timeProvider.GetUtcNow());
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Version {versionLabel} takes the traffic; draining version {current.Version}.");
        }

        await DrainAsync(d, current).ConfigureAwait(false);
        if (oldPinned is { } old) _cache.Unpin(old);
        if (current.Key != key) _cache.Remove(current.Key);
        d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Version {current.Version} drained and unloaded.");
    }

    private async Task StopCoreAsync(Deployment d)
    {
        d.CancelBringUp();
        if (d.BringUpTask is { } bringUp) await bringUp.ConfigureAwait(false);

        ModelRuntime? runtime;
        lock (d.Gate)
        {
            if (d.State is DeploymentState.Stopped or DeploymentState.Failed)
            {
                _table.Deactivate(d);
                return;
            }

            runtime = d.Runtime;
            d.State = DeploymentState.Stopping;
            d.Touch(_timeProvider.GetUtcNow());
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, "Stopping: draining queued and running requests.");
        }

        Log.DeploymentState(_logger, d.Id, "stopping");
        if (runtime is not null) await DrainAsync(d, runtime).ConfigureAwait(false);
        ModelCacheKey? pinned;
        lock (d.Gate)
        {
            pinned = d.PinnedKey;
            d.PinnedKey = null;
            d.Runtime = null;
            d.State = DeploymentState.Stopped;
            d.Touch(_timeProvider.GetUtcNow());
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, "Stopped.");
        }

        if (pinned is { } key) _cache.Unpin(key);
        _table.Deactivate(d);
        d.SetSettled();
        Log.DeploymentState(_logger, d.Id, "stopped");
    }

    private async Task DrainAsync(Deployment d, ModelRuntime runtime)
    {
        using var timeout = new CancellationTokenSource(_options.DrainTimeout, _timeProvider);
        try
        {
            await runtime.Queue.StopAsync(drain: true, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Warning, $"Requests still queued after {_options.DrainTimeout.TotalSeconds:F0} s were failed.");
            await runtime.Queue.StopAsync(drain: false).ConfigureAwait(false);
        }

        await runtime.Queue.DisposeAsync().ConfigureAwait(false);
    }

    private void SetReplicasLocked(Deployment d, int replicas, string message)
    {
        if (replicas == d.Desired) return;
        d.Desired = replicas;
        d.Runtime?.Queue.SetInstances(replicas);
        d.Touch(_timeProvider.GetUtcNow());
        d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, message);
    }

    private void ApplyBoundsLocked(Deployment d, int min, int max)
    {
        var wasPinned = d.Min > 0;
        d.Min = min;
        d.Max = max;
        if (d.State != DeploymentState.Running || d.Runtime is not { } runtime) return;
        if (!wasPinned && min > 0)
        {
            _cache.Pin(runtime.Key);
            d.PinnedKey = runtime.Key;
        }
        else if (wasPinned && min == 0 && d.PinnedKey is { } key)
        {
            _cache.Unpin(key);
            d.PinnedKey = null;
        }
    }

    private async Task<(ModelInfo Model, ModelVersionInfo Version)> ResolveVersionAsync(string modelId, string? version, CancellationToken cancellationToken)
    {
        var model = await _registry.FindModelAsync(modelId, cancellationToken).ConfigureAwait(false)
            ?? throw new ModelNotFoundException($"Model '{modelId}' does not exist.");
        var info = model.FindVersion(version) ?? throw new ModelNotFoundException(version is null
            ? $"Model '{modelId}' has no ready version to deploy."
            : $"Model '{modelId}' has no version '{version}'; it has: {string.Join(", ", model.Versions.Select(v => v.Version))}.");
        if (info.Status != ModelVersionStatus.Ready || info.Files.Count == 0)
        {
            throw new ModelNotFoundException($"Version '{info.Version}' of model '{modelId}' is {ModelVersionStatusNames.Name(info.Status)}, not ready.");
        }

        return (model, info);
    }


    private static void ValidateScaling(int replicas, int min, int max, int target)
    {
        if (min < 0) throw new InvalidModelConfigException($"'min_replicas' must be 0 or more (was {min}).");
        if (replicas < 1) throw new InvalidModelConfigException($"'replicas' must be at least 1 (was {replicas}).");
        if (max > 256) throw new InvalidModelConfigException($"'max_replicas' must be at most 256 (was {max}).");
        if (min > max) throw new InvalidModelConfigException($"'min_replicas' ({min}) is above 'max_replicas' ({max}).");
        if (replicas < Math.Max(1, min) || replicas > max)
        {
            throw new InvalidModelConfigException($"'replicas' ({replicas}) must lie between the bounds {Math.Max(1, min)}..{max}.");
        }

        if (target < 1) throw new InvalidModelConfigException($"The autoscaling target queue depth must be at least 1 (was {target}).");
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

/// <summary>Every deployment by id, and the active one (not stopped or failed) per model; the registry's usage guard.</summary>
internal sealed class DeploymentTable : IModelUsageGuard
{
    private readonly Lock _gate = new();
    private readonly ConcurrentDictionary<string, Deployment> _byId = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Deployment> _activeByModel = new(StringComparer.Ordinal);

    public Deployment Get(string id) => Find(id) ?? throw new DeploymentNotFoundException($"Deployment '{id}' does not exist.");

    public Deployment? Find(string id) => id is not null && _byId.TryGetValue(id, out var d) ? d : null;

    public Deployment? FindActive(string modelId) => _activeByModel.TryGetValue(modelId, out var d) ? d : null;

    public ICollection<Deployment> All() => _byId.Values;

    public void Add(Deployment d, long memoryLimit)
    {
        lock (_gate)
        {
            if (_byId.ContainsKey(d.Id)) throw new ModelKitConflictException($"A deployment named '{d.Id}' already exists.");
            CheckActivation(d, memoryLimit);
            _byId[d.Id] = d;
            _activeByModel[d.ModelId] = d;
        }
    }

    public void AddInactive(Deployment d)
    {
        lock (_gate)
        {
            if (!_byId.TryAdd(d.Id, d)) throw new ModelKitConflictException($"A deployment named '{d.Id}' already exists.");
        }
    }

    public void Activate(Deployment d, long memoryLimit)
    {
        lock (_gate)
        {
            CheckActivation(d, memoryLimit);
            _activeByModel[d.ModelId] = d;
        }
    }

    public void Deactivate(Deployment d)
    {
        lock (_gate)
        {
            _activeByModel.TryRemove(new KeyValuePair<string, Deployment>(d.ModelId, d));
        }
    }

    public void Remove(Deployment d)
    {
        lock (_gate)
        {
            _activeByModel.TryRemove(new KeyValuePair<string, Deployment>(d.ModelId, d));
            _byId.TryRemove(d.Id, out _);
        }
    }

    public void CheckMemory(Deployment d, long request, long memoryLimit)
    {
        lock (_gate)
        {
            var reserved = ReservedLocked(except: d);
            if (reserved + request > memoryLimit)
            {
                throw new InsufficientResourcesException(
                    $"A memory request of {FormatBytes(request)} does not fit: {FormatBytes(reserved)} of the {FormatBytes(memoryLimit)} model memory budget is reserved by other deployments.");
            }
        }
    }

    /// <summary>Raised when the registry deleted (forced) what an active deployment serves.</summary>
    public event Action<Deployment, string?>? ForcedDelete;

    public void OnForcedDelete(string modelId, string? version)
    {
        var d = FindActive(modelId);
        if (d is null) return;
        var (served, updating, _) = d.Describe();
        if (version is null || version == served || version == updating) ForcedDelete?.Invoke(d, version);
    }

    public string? GetUsage(string modelId, string? version)
    {
        var d = FindActive(modelId);
        if (d is null) return null;
        var (served, updating, state) = d.Describe();
        if (version is not null && version != served && version != updating) return null;
        return $"deployment '{d.Id}' ({DeploymentManager.Name(state)}) serves version {served}";
    }

    private void CheckActivation(Deployment d, long memoryLimit)
    {
        if (_activeByModel.TryGetValue(d.ModelId, out var other) && other != d)
        {
            throw new ModelKitConflictException($"Model '{d.ModelId}' is already deployed as '{other.Id}'; update, stop or delete that deployment first.");
        }

        if (d.MemoryRequest is { } request) CheckMemory(d, request, memoryLimit);
    }

    private long ReservedLocked(Deployment except)
    {
        long sum = 0;
        foreach (var other in _activeByModel.Values)
        {
            if (other != except && other.MemoryRequest is { } r) sum += r;
        }

        return sum;
    }

    private static string FormatBytes(long bytes) => ModelCache.FormatBytes(bytes);
}
