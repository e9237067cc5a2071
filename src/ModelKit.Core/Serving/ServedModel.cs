using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Serving;

/// <summary>
/// A servable model version on one device: validates requests against its signature, queues them on its own
/// <see cref="BatchQueue"/> and runs each batch on a cache lease. Before a load it has the registry verify the
/// version's artifacts, so that a missing or corrupt file is MODEL_UNAVAILABLE, never a client error. Created only by
/// <see cref="ModelRouter"/>.
/// </summary>
internal sealed class ServedModel : IServedModel, IBatchExecutor
{
    private readonly IModelRegistry _registry;
    private readonly IModelCache _cache;
    private readonly ModelRouter _router;
    private readonly ILogger _logger;
    private volatile bool _withdrawn;

    public ServedModel(
        ModelRouter router,
        IModelRegistry registry,
        IModelCache cache,
        ModelVersionInfo version,
        ModelLoadRequest load,
        ModelCacheKey key,
        BatchingOptions batching,
        RequestPriority defaultPriority,
        string? deploymentId,
        TimeProvider timeProvider,
        ModelKitMetrics metrics,
        ILogger logger)
    {
        _router = router;
        _registry = registry;
        _cache = cache;
        _logger = logger;
        VersionInfo = version;
        Load = load;
        CacheKey = key;
        DefaultPriority = defaultPriority;
        DeploymentId = deploymentId;
        Queue = new BatchQueue(key.ModelId, batching, Signature?.SupportsBatching ?? false, this, timeProvider, metrics, logger);
    }

    public string ModelId => CacheKey.ModelId;

    public string Version => CacheKey.Version;

    public string? DeploymentId { get; }

    public ModelCacheKey CacheKey { get; }

    public ModelSignature? Signature => VersionInfo.Signature;

    /// <summary>The registered version this serves: its files and their hashes.</summary>
    public ModelVersionInfo VersionInfo { get; }

    /// <summary>What the cache loads.</summary>
    public ModelLoadRequest Load { get; }

    /// <summary>The queue priority of requests that name none.</summary>
    public RequestPriority DefaultPriority { get; set; }

    public BatchQueue Queue { get; }

    public bool IsAcceptingRequests => !_withdrawn && !Queue.IsStopping;

    /// <summary>True when the registry content this serves is <paramref name="version"/>'s (same files, same hashes).</summary>
    public bool Serves(ModelVersionInfo version) => string.Equals(Load.ContentId, ModelRouter.ContentIdOf(version), StringComparison.Ordinal);

    public Task<IReadOnlyDictionary<string, Tensor>> InferAsync(
        IReadOnlyDictionary<string, Tensor> inputs, RequestPriority? priority = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (Signature is { } signature) InputValidator.Validate(ModelId, signature, inputs);
        if (_withdrawn) throw new ModelKitConflictException($"Model '{ModelId}' version {Version} was withdrawn from serving; resolve it again.");
        return Queue.EnqueueAsync(inputs, priority ?? DefaultPriority, timeout, cancellationToken);
    }

    public async IAsyncEnumerable<IReadOnlyDictionary<string, Tensor>> StreamAsync(
        IReadOnlyDictionary<string, Tensor> inputs, RequestPriority? priority = null, TimeSpan? timeout = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        // A tensor model answers in one step.
        yield return await InferAsync(inputs, priority, timeout, cancellationToken).ConfigureAwait(false);
    }

    public async Task PreloadAsync(CancellationToken cancellationToken = default) => await PreloadAsync(pin: false, cancellationToken).ConfigureAwait(false);

    /// <summary>Verifies the artifacts and loads the model, pinned when asked.</summary>
    public async Task PreloadAsync(bool pin, CancellationToken cancellationToken)
    {
        await VerifyArtifactsAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await _cache.PreloadAsync(CacheKey, Load, pin, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsServerFault(ex))
        {
            throw Unavailable(ex);
        }
    }

    public BatchQueueStats GetStats() => Queue.GetStats();

    public ValueTask<ModelLease> LeaseAsync(CancellationToken cancellationToken = default)
    {
        if (_withdrawn) throw new ModelKitConflictException($"Model '{ModelId}' version {Version} was withdrawn from serving; resolve it again.");
        return _cache.TryAcquireCurrent(CacheKey, Load, out var lease) ? new ValueTask<ModelLease>(lease) : LeaseSlowAsync(cancellationToken);
    }

    private async ValueTask<ModelLease> LeaseSlowAsync(CancellationToken cancellationToken)
    {
        await VerifyArtifactsAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _cache.AcquireAsync(CacheKey, Load, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsServerFault(ex))
        {
            throw Unavailable(ex);
        }
    }

    /// <summary>Refuses new requests from now on; queued and running ones finish.</summary>
    public void Withdraw() => _withdrawn = true;

    /// <summary>
    /// One request of zeros (dynamic dimensions as 1) straight on a lease, outside the queue. Skipped for models whose
    /// inputs are unknown or strings; a failure is reported, not thrown (zeros are not valid input for every model).
    /// </summary>
    public async Task<(bool Ran, string Note)> WarmUpAsync(CancellationToken cancellationToken)
    {
        if (Signature is not { Inputs.Count: > 0 } signature) return (false, "the model's inputs are not known");
        var inputs = new Dictionary<string, Tensor>(signature.Inputs.Count);
        foreach (var input in signature.Inputs)
        {
            if (input.ElementType == TensorElementType.String) return (false, $"input '{input.Name}' is a string tensor");
            var shape = new long[input.Shape.Count];
            for (var i = 0; i < shape.Length; i++) shape[i] = input.Shape[i] < 0 ? 1 : input.Shape[i];
            inputs[input.Name] = Tensor.Allocate(input.ElementType, shape);
        }

        var started = Stopwatch.GetTimestamp();
        try
        {
            await ExecuteAsync([inputs], cancellationToken).ConfigureAwait(false);
            return (true, $"one run took {Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return (false, "a run on zeros failed: " + ex.Message);
        }
    }

    /// <summary>Runs one batch on a lease of the cached session (loading it on a miss).</summary>
    public ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> ExecuteAsync(
        IReadOnlyList<IReadOnlyDictionary<string, Tensor>> batch, CancellationToken cancellationToken = default)
    {
        if (!_cache.TryAcquireCurrent(CacheKey, Load, out var lease)) return ExecuteSlowAsync(batch, cancellationToken);

        ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> run;
        try
        {
            run = lease.Session.RunAsync(batch, cancellationToken);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        if (!run.IsCompleted) return AwaitAndReleaseAsync(run, lease);
        using (lease)
        {
            return new ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>>(run.Result);
        }
    }

    private static async ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> AwaitAndReleaseAsync(
        ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> run, ModelLease lease)
    {
        using (lease)
        {
            return await run.ConfigureAwait(false);
        }
    }

    private async ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> ExecuteSlowAsync(
        IReadOnlyList<IReadOnlyDictionary<string, Tensor>> batch, CancellationToken cancellationToken)
    {
        using (var lease = await LeaseSlowAsync(cancellationToken).ConfigureAwait(false))
        {
            return await lease.Session.RunAsync(batch, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task VerifyArtifactsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _registry.VerifyArtifactsAsync(VersionInfo, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelUnavailableException ex)
        {
            _router.ReportUnavailable(this, ex.Message);
            throw;
        }
        catch (Exception ex) when (IsServerFault(ex))
        {
            throw Unavailable(ex);
        }

        _router.ReportAvailable(this);
    }

    // Loading a version that passed its upload checks fails for a reason of the server's (an unreadable file, a backend
    // that cannot load it now): not the client's. Lack of memory or of a device keeps its own code and message.
    private static bool IsServerFault(Exception ex) =>
        ex is not (OperationCanceledException or ModelUnavailableException or InsufficientResourcesException or DeviceUnavailableException);

    // The original message may name server paths, so it goes to the log only.
    private ModelUnavailableException Unavailable(Exception ex)
    {
        Log.ServedModelLoadFailed(_logger, ModelId, Version, ex);
        var message = $"Version '{Version}' of model '{ModelId}' could not be loaded by its backend on this server; the server log has the details.";
        _router.ReportUnavailable(this, message);
        return new ModelUnavailableException(message, ex);
    }
}
