using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Inference;

/// <summary>
/// Routes a request to the model's running deployment (or, when allowed, serves the registered model on demand),
/// validates inputs against its signature, queues the request on that runtime's <see cref="BatchQueue"/>, and runs
/// batches on a cache lease. On-demand resolutions are kept for <see cref="ResolveInterval"/> so the hot path does
/// not touch the database. A request that meets a runtime being replaced by a rolling update is re-routed.
/// </summary>
public sealed class InferenceService : IInferenceService, IAsyncDisposable, IDisposable
{
    /// <summary>How long a resolved model route is trusted before the registry is asked again.</summary>
    public static readonly TimeSpan ResolveInterval = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<(string ModelId, string? Version), Route> _routes = new();
    private readonly ConcurrentDictionary<string, (string? Task, long ValidUntil)> _modelTasks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<ModelCacheKey, ModelRuntime> _runtimes = new();
    private readonly IModelRegistry _registry;
    private readonly IModelCache _cache;
    private readonly InferenceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ModelKitMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ExecutionDevice _defaultDevice;
    private readonly DeploymentManager? _deployments;

    /// <summary>Creates the service.</summary>
    public InferenceService(
        IModelRegistry registry,
        IModelCache cache,
        IOptions<InferenceOptions> options,
        TimeProvider? timeProvider = null,
        ModelKitMetrics? metrics = null,
        ILogger<InferenceService>? logger = null,
        DeploymentManager? deployments = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
        _options = options.Value;
        _options.DefaultBatching.Validate();
        _defaultDevice = ExecutionDevice.Parse(_options.DefaultDevice);
        _timeProvider = timeProvider ?? TimeProvider.System;
        _metrics = metrics ?? new ModelKitMetrics();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _deployments = deployments;
    }

    /// <inheritdoc />
    public async Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = _timeProvider.GetTimestamp();
        using var activity = ModelKitMetrics.ActivitySource.StartActivity("modelkit.inference");
        activity?.SetTag(ModelKitTelemetry.ModelTag, request.ModelId);
        if (request.Task is not null) await CheckTaskAsync(request, cancellationToken).ConfigureAwait(false);
        ModelRuntime runtime;
        Task<IReadOnlyDictionary<string, Tensor>> pending;
        for (var attempt = 0; ; attempt++)
        {
            runtime = await ResolveAsync(request.ModelId, request.Version, cancellationToken).ConfigureAwait(false);
            if (runtime.Signature is { } signature) InputValidator.Validate(runtime.ModelId, signature, request.Inputs);
            try
            {
                pending = runtime.Queue.EnqueueAsync(
                    request.Inputs, request.Priority ?? runtime.DefaultPriority, request.Timeout ?? _options.DefaultTimeout, cancellationToken);
                break;
            }
            catch (ModelKitConflictException) when (runtime.Queue.IsStopping && attempt < 3)
            {
                // A rolling update or a stop replaced this runtime between routing and queueing: route again.
                _routes.TryRemove((request.ModelId, request.Version), out _);
            }
        }

        activity?.SetTag(ModelKitTelemetry.VersionTag, runtime.Version);
        var outputs = await pending.ConfigureAwait(false);
        var elapsed = _timeProvider.GetElapsedTime(started);
        _metrics.InferenceDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, runtime.ModelId));
        return new InferenceResult { ModelId = runtime.ModelId, Version = runtime.Version, Outputs = outputs, Duration = elapsed };
    }

    /// <inheritdoc />
    public async ValueTask<ModelSignature?> GetSignatureAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        var runtime = await ResolveAsync(modelId, version, cancellationToken).ConfigureAwait(false);
        return runtime.Signature;
    }

    /// <inheritdoc />
    public async Task<ModelCacheKey> PreloadAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        var runtime = await ResolveAsync(modelId, version, cancellationToken).ConfigureAwait(false);
        await _cache.PreloadAsync(runtime.Key, runtime.Load, pin: false, cancellationToken).ConfigureAwait(false);
        return runtime.Key;
    }

    /// <inheritdoc />
    public async Task ValidateAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Task is not null) await CheckTaskAsync(request, cancellationToken).ConfigureAwait(false);
        var runtime = await ResolveAsync(request.ModelId, request.Version, cancellationToken).ConfigureAwait(false);
        if (runtime.Signature is { } signature) InputValidator.Validate(runtime.ModelId, signature, request.Inputs);
    }

    // Only requests that name a task need the model's; it is read from the registry at most once per ResolveInterval.
    private ValueTask CheckTaskAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        if (_modelTasks.TryGetValue(request.ModelId, out var known) && _timeProvider.GetTimestamp() < known.ValidUntil)
        {
            CheckTask(request, known.Task);
            return ValueTask.CompletedTask;
        }

        return CheckTaskSlowAsync(request, cancellationToken);
    }

    private async ValueTask CheckTaskSlowAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var model = await _registry.FindModelAsync(request.ModelId, cancellationToken).ConfigureAwait(false)
            ?? throw new ModelNotFoundException($"Model '{request.ModelId}' is not registered.");
        var interval = (long)(ResolveInterval.TotalSeconds * _timeProvider.TimestampFrequency);
        _modelTasks[request.ModelId] = (model.Task, _timeProvider.GetTimestamp() + interval);
        CheckTask(request, model.Task);
    }

    private static void CheckTask(InferenceRequest request, string? modelTask)
    {
        if (modelTask is not null && !string.Equals(modelTask, request.Task, StringComparison.OrdinalIgnoreCase))
        {
            throw new UnsupportedTaskException($"Model '{request.ModelId}' performs '{modelTask}', not '{request.Task}'; GET the supported tasks for the models of each task.");
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<InferenceItemResult>> InferManyAsync(IReadOnlyList<InferenceRequest> requests, bool sequential = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var results = new InferenceItemResult[requests.Count];
        if (sequential)
        {
            for (var i = 0; i < results.Length; i++) results[i] = await ItemAsync(InferAsync(requests[i], cancellationToken)).ConfigureAwait(false);
            return results;
        }

        // All queued first, so that they can share batches; then collected in order.
        var tasks = new Task<InferenceResult>[requests.Count];
        for (var i = 0; i < tasks.Length; i++) tasks[i] = InferAsync(requests[i], cancellationToken);
        for (var i = 0; i < tasks.Length; i++) results[i] = await ItemAsync(tasks[i]).ConfigureAwait(false);
        return results;

        async Task<InferenceItemResult> ItemAsync(Task<InferenceResult> task)
        {
            try
            {
                return new InferenceItemResult { Result = await task.ConfigureAwait(false) };
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new InferenceItemResult { Error = ex };
            }
        }
    }

    /// <summary>Queue counters of every running deployment (keyed by deployment id) and every model served on demand (keyed <c>model:version</c>).</summary>
    public IReadOnlyDictionary<string, BatchQueueStats> GetQueueStats()
    {
        var result = new Dictionary<string, BatchQueueStats>();
        if (_deployments is not null)
        {
            foreach (var (id, runtime) in _deployments.RunningRuntimes()) result[id] = runtime.Queue.GetStats();
        }

        foreach (var (key, runtime) in _runtimes) result[$"{key.ModelId}:{key.Version}"] = runtime.Queue.GetStats();
        return result;
    }

    /// <summary>Stops every queue (running batches finish) and forgets the routes.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var runtime in _runtimes.Values) await runtime.Queue.DisposeAsync().ConfigureAwait(false);
        _runtimes.Clear();
        _routes.Clear();
    }

    /// <summary>Stops every queue, blocking until running batches finish.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private ValueTask<ModelRuntime> ResolveAsync(string modelId, string? version, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(modelId)) throw new InvalidInputException("'model_id' is required.");
        if (_deployments is not null)
        {
            if (_deployments.TryGetRuntime(modelId, version, out var deployed, out var state)) return new ValueTask<ModelRuntime>(deployed);
            if (!_options.ServeUndeployedModels)
            {
                var id = _deployments.FindActiveId(modelId);
                throw new DeploymentNotRunningException(id is null
                    ? $"Model '{modelId}' is not deployed{(version is null ? string.Empty : $" in version {version}")}; deploy it first."
                    : $"Model '{modelId}' is deployed as '{id}', which is {DeploymentManager.Name(state ?? DeploymentState.Stopped)}{(version is null ? string.Empty : $" and may not serve version {version}")}.");
            }
        }
        else if (!_options.ServeUndeployedModels)
        {
            throw new DeploymentNotRunningException($"Model '{modelId}' is not deployed, and serving undeployed models is turned off.");
        }

        return _routes.TryGetValue((modelId, version), out var route) && _timeProvider.GetTimestamp() < route.ValidUntil
            ? new ValueTask<ModelRuntime>(route.Runtime)
            : ResolveSlowAsync(modelId, version, cancellationToken);
    }

    private async ValueTask<ModelRuntime> ResolveSlowAsync(string modelId, string? version, CancellationToken cancellationToken)
    {
        var model = await _registry.FindModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        if (model is null)
        {
            _routes.TryRemove((modelId, version), out _);
            throw new ModelNotFoundException($"Model '{modelId}' does not exist.");
        }

        var info = model.FindVersion(version);
        if (info is null)
        {
            throw new ModelNotFoundException(version is null
                ? $"Model '{modelId}' has no ready version yet."
                : $"Model '{modelId}' has no version '{version}'; it has: {string.Join(", ", model.Versions.Select(v => v.Version))}.");
        }

        if (info.Status != ModelVersionStatus.Ready || info.Files.Count == 0)
        {
            throw new ModelNotFoundException($"Version '{info.Version}' of model '{modelId}' is {ModelVersionStatusNames.Name(info.Status)}, not ready.");
        }

        var key = new ModelCacheKey(model.Id, info.Version, _defaultDevice);
        var runtime = _runtimes.GetOrAdd(key, static (k, state) => state.Self.CreateRuntime(k, state.Model, state.Info), (Self: this, Model: model, Info: info));
        var interval = (long)(ResolveInterval.TotalSeconds * _timeProvider.TimestampFrequency);
        _routes[(modelId, version)] = new Route(runtime, _timeProvider.GetTimestamp() + interval);
        return runtime;
    }

    private ModelRuntime CreateRuntime(ModelCacheKey key, ModelInfo model, ModelVersionInfo info)
    {
        var load = new ModelLoadRequest(info.Files[0].Path) { Framework = model.Framework, Device = key.Device, IntraOpThreads = _options.IntraOpThreads };
        return new ModelRuntime(key, load, info.Signature, _options.DefaultBatching, RequestPriority.Normal, deploymentId: null, _cache, _timeProvider, _metrics, _logger);
    }

    private sealed record Route(ModelRuntime Runtime, long ValidUntil);
}
