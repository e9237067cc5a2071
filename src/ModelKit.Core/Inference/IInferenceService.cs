namespace ModelKit.Inference;

/// <summary>The one entry point the adapters call: resolve, validate, queue, run.</summary>
public interface IInferenceService
{
    /// <summary>Runs one request on the model's running deployment, or on demand. Errors: MODEL_NOT_FOUND, DEPLOYMENT_NOT_RUNNING, INVALID_INPUT, QUEUE_FULL, INFERENCE_TIMEOUT, INFERENCE_FAILED, INSUFFICIENT_RESOURCES, MODEL_UNAVAILABLE.</summary>
    Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs one request on <paramref name="model"/>, a handle the caller resolved with <see cref="ResolveAsync"/> (for
    /// example to read its signature first), so that a request resolves once; resolved again only if the handle was
    /// withdrawn meanwhile. With a null <paramref name="model"/> it is <see cref="InferAsync(InferenceRequest, CancellationToken)"/>.
    /// </summary>
    Task<InferenceResult> InferAsync(Serving.IServedModel? model, InferenceRequest request, CancellationToken cancellationToken = default);

    /// <summary>The served model a request for <paramref name="modelId"/> (and <paramref name="version"/>) runs on. Errors: MODEL_NOT_FOUND, DEPLOYMENT_NOT_RUNNING.</summary>
    ValueTask<Serving.IServedModel> ResolveAsync(string modelId, string? version = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks a request without running it: the model (and version) resolve to something servable and the inputs
    /// match its signature. Throws what <see cref="InferAsync(InferenceRequest, CancellationToken)"/> would throw for those reasons.
    /// </summary>
    Task ValidateAsync(InferenceRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// The inputs and outputs of the model version a request would run on (its running deployment's, or the
    /// registered version's); null when the backend did not describe it. Cheap: uses the same cached routing as
    /// <see cref="InferAsync(InferenceRequest, CancellationToken)"/>. Errors: MODEL_NOT_FOUND, DEPLOYMENT_NOT_RUNNING.
    /// </summary>
    ValueTask<Tensors.ModelSignature?> GetSignatureAsync(string modelId, string? version = null, CancellationToken cancellationToken = default);

    /// <summary>Loads the model version a request would run on into the cache now, so that its first request does not wait. Returns the cache key.</summary>
    Task<Caching.ModelCacheKey> PreloadAsync(string modelId, string? version = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Runs a client's batch of 1 to <see cref="InferenceBatchResult.MaxItems"/> items, concurrently (so that they share
    /// backend batches) or, with <paramref name="sequential"/>, one after another in order; each item succeeds or
    /// fails on its own, and items that failed before they could run keep their place. INVALID_INPUT for an empty
    /// or oversized batch.
    /// </summary>
    Task<InferenceBatchResult> InferManyAsync(IReadOnlyList<InferenceBatchItem> items, bool sequential = false, CancellationToken cancellationToken = default);
}
