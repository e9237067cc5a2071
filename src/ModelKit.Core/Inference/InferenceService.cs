using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Diagnostics;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Inference;

/// <summary>
/// Resolves a model version through the registry, validates inputs against its signature, queues the request
/// on the model's <see cref="BatchQueue"/>, and runs batches on a cache lease. Resolutions are kept for
/// <see cref="ResolveInterval"/> so the hot path does not touch the database.
/// </summary>
public sealed class InferenceService : IInferenceService, IAsyncDisposable, IDisposable
{
    /// <summary>How long a resolved model route is trusted before the registry is asked again.</summary>
    public static readonly TimeSpan ResolveInterval = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<(string ModelId, string? Version), Route> _routes = new();
    private readonly ConcurrentDictionary<ModelCacheKey, ModelRuntime> _runtimes = new();
    private readonly IModelRegistry _registry;
    private readonly IModelCache _cache;
    private readonly InferenceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ModelKitMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ExecutionDevice _defaultDevice;

    /// <summary>Creates the service.</summary>
    public InferenceService(
        IModelRegistry registry,
        IModelCache cache,
        IOptions<InferenceOptions> options,
        TimeProvider? timeProvider = null,
        ModelKitMetrics? metrics = null,
        ILogger<InferenceService>? logger = null)
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
    }

    /// <inheritdoc />
    public async Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = _timeProvider.GetTimestamp();
        using var activity = ModelKitMetrics.ActivitySource.StartActivity("modelkit.inference");
        activity?.SetTag(ModelKitTelemetry.ModelTag, request.ModelId);
        var runtime = await ResolveAsync(request.ModelId, request.Version, cancellationToken).ConfigureAwait(false);
        activity?.SetTag(ModelKitTelemetry.VersionTag, runtime.Version);
        if (runtime.Signature is { } signature) InputValidator.Validate(runtime.ModelId, signature, request.Inputs);
        var outputs = await runtime.Queue
            .EnqueueAsync(request.Inputs, request.Priority, request.Timeout ?? _options.DefaultTimeout, cancellationToken)
            .ConfigureAwait(false);
        var elapsed = _timeProvider.GetElapsedTime(started);
        _metrics.InferenceDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, runtime.ModelId));
        return new InferenceResult { ModelId = runtime.ModelId, Version = runtime.Version, Outputs = outputs, Duration = elapsed };
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<InferenceItemResult>> InferManyAsync(IReadOnlyList<InferenceRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        var tasks = new Task<InferenceResult>[requests.Count];
        for (var i = 0; i < tasks.Length; i++)
        {
            try
            {
                tasks[i] = InferAsync(requests[i], cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                tasks[i] = Task.FromException<InferenceResult>(ex);
            }
        }

        var results = new InferenceItemResult[tasks.Length];
        for (var i = 0; i < tasks.Length; i++)
        {
            try
            {
                results[i] = new InferenceItemResult { Result = await tasks[i].ConfigureAwait(false) };
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                results[i] = new InferenceItemResult { Error = ex };
            }
        }

        return results;
    }

    /// <summary>Queue counters of every model served so far.</summary>
    public IReadOnlyDictionary<string, BatchQueueStats> GetQueueStats()
    {
        var result = new Dictionary<string, BatchQueueStats>();
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
            throw new ModelNotFoundException($"Version '{info.Version}' of model '{modelId}' is {SqliteModelRegistry.StatusName(info.Status)}, not ready.");
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
        var executor = new CacheExecutor(_cache, key, load);
        var queue = new BatchQueue(key.ModelId, _options.DefaultBatching, info.Signature?.SupportsBatching ?? false, executor, _timeProvider, _metrics, _logger);
        return new ModelRuntime(key.ModelId, key.Version, info.Signature, queue);
    }

    private sealed record Route(ModelRuntime Runtime, long ValidUntil);

    private sealed record ModelRuntime(string ModelId, string Version, ModelSignature? Signature, BatchQueue Queue);

    /// <summary>Runs batches on a lease of the cached session.</summary>
    internal sealed class CacheExecutor(IModelCache cache, ModelCacheKey key, ModelLoadRequest load) : IBatchExecutor
    {
        public ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> ExecuteAsync(
            IReadOnlyList<IReadOnlyDictionary<string, Tensor>> batch, CancellationToken cancellationToken = default)
        {
            if (cache.TryAcquire(key, out var lease))
            {
                using (lease)
                {
                    return new ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>>(lease.Session.Run(batch));
                }
            }

            return ExecuteSlowAsync(batch, cancellationToken);
        }

        private async ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> ExecuteSlowAsync(
            IReadOnlyList<IReadOnlyDictionary<string, Tensor>> batch, CancellationToken cancellationToken)
        {
            using var lease = await cache.AcquireAsync(key, load, cancellationToken).ConfigureAwait(false);
            return lease.Session.Run(batch);
        }
    }
}
