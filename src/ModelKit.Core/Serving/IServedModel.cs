using ModelKit.Caching;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Serving;

/// <summary>
/// One servable model version on one device, as <see cref="IModelRouter.ResolveAsync"/> hands it out: its signature,
/// its queue, and the calls that run it. A handle stays valid while it accepts requests; after a rolling update, a
/// stop or a registry change it refuses new requests (resolve again) while the ones it accepted finish.
/// </summary>
public interface IServedModel
{
    /// <summary>The model id.</summary>
    string ModelId { get; }

    /// <summary>The version served.</summary>
    string Version { get; }

    /// <summary>The deployment serving it, or null when the model is served on demand.</summary>
    string? DeploymentId { get; }

    /// <summary>Its key in the model cache.</summary>
    ModelCacheKey CacheKey { get; }

    /// <summary>Inputs and outputs; null when no backend described the model.</summary>
    ModelSignature? Signature { get; }

    /// <summary>False once the handle was withdrawn: new requests are refused and the caller should resolve again.</summary>
    bool IsAcceptingRequests { get; }

    /// <summary>
    /// Validates <paramref name="inputs"/> against <see cref="Signature"/>, queues them for a batch and returns the
    /// outputs. Errors: INVALID_INPUT, QUEUE_FULL, INFERENCE_TIMEOUT, INFERENCE_FAILED, MODEL_UNAVAILABLE,
    /// INSUFFICIENT_RESOURCES; CONFLICT when the handle was withdrawn meanwhile.
    /// </summary>
    Task<IReadOnlyDictionary<string, Tensor>> InferAsync(
        IReadOnlyDictionary<string, Tensor> inputs, RequestPriority? priority = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs the inputs and streams the outputs as the model produces them. A model that answers in one step (every
    /// tensor model) yields exactly one item, the same as <see cref="InferAsync"/>; generative models yield one item per step.
    /// </summary>
    IAsyncEnumerable<IReadOnlyDictionary<string, Tensor>> StreamAsync(
        IReadOnlyDictionary<string, Tensor> inputs, RequestPriority? priority = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases the loaded session for a caller that runs it directly, outside the batch queue, and keeps state between
    /// runs (the generation engine, which holds a decoder's KV cache per sequence and batches its own steps). Verifies
    /// the artifacts and loads the model on a miss, like a queued run; the cache does not evict a leased session.
    /// Dispose the lease when the work is done. Errors: MODEL_UNAVAILABLE, INSUFFICIENT_RESOURCES; CONFLICT when the
    /// handle was withdrawn.
    /// </summary>
    ValueTask<ModelLease> LeaseAsync(CancellationToken cancellationToken = default);

    /// <summary>Loads the model into the cache now (after checking its artifacts), so that the first request does not wait.</summary>
    Task PreloadAsync(CancellationToken cancellationToken = default);

    /// <summary>The counters of its queue.</summary>
    BatchQueueStats GetStats();
}
