using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Inference;

/// <summary>One inference call.</summary>
public sealed record InferenceRequest
{
    /// <summary>The model to run.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version; the model's default version when null.</summary>
    public string? Version { get; init; }

    /// <summary>The inputs by name. Dimension 0 is the batch dimension when the model has a dynamic one.</summary>
    public required IReadOnlyDictionary<string, Tensor> Inputs { get; init; }

    /// <summary>The queue priority; the deployment's default priority (normal for a model served on demand) when null.</summary>
    public RequestPriority? Priority { get; init; }

    /// <summary>How long the caller waits before INFERENCE_TIMEOUT; <see cref="InferenceOptions.DefaultTimeout"/> when null.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// The task the caller expects the model to perform (for example <c>classification</c>); UNSUPPORTED_TASK when the
    /// model is registered with another task. Not checked when null or when the model has no task.
    /// </summary>
    public string? Task { get; init; }
}

/// <summary>The outputs of one call.</summary>
public sealed record InferenceResult
{
    /// <summary>The model that ran.</summary>
    public required string ModelId { get; init; }
    /// <summary>The version that ran.</summary>
    public required string Version { get; init; }
    /// <summary>The outputs by name.</summary>
    public required IReadOnlyDictionary<string, Tensor> Outputs { get; init; }
    /// <summary>Time from submission to result.</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>One item of a client-side batch: a result or an error.</summary>
public sealed record InferenceItemResult
{
    /// <summary>The result when the item succeeded.</summary>
    public InferenceResult? Result { get; init; }
    /// <summary>The error when it failed.</summary>
    public Exception? Error { get; init; }
    /// <summary>True when <see cref="Result"/> is set.</summary>
    public bool Succeeded => Result is not null;
}

/// <summary>Settings of the inference service.</summary>
public sealed class InferenceOptions
{
    /// <summary>The timeout of a request that names none. Default: 30 s.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Batching used for a model served on demand (without an explicit deployment).</summary>
    public BatchingOptions DefaultBatching { get; set; } = new();

    /// <summary>The device used for a model served on demand. Default: <c>cpu</c>.</summary>
    public string DefaultDevice { get; set; } = "cpu";

    /// <summary>Intra-op threads per session for models served on demand; null leaves the backend's default.</summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// Serves a registered model that has no running deployment by loading it on demand with
    /// <see cref="DefaultBatching"/> on <see cref="DefaultDevice"/>. When false, such requests fail with
    /// DEPLOYMENT_NOT_RUNNING, so stopping a deployment stops its traffic. Default: true.
    /// </summary>
    public bool ServeUndeployedModels { get; set; } = true;
}

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
    /// Runs several requests, concurrently (so that they batch together) or, with <paramref name="sequential"/>, one
    /// after another in order; each item succeeds or fails on its own.
    /// </summary>
    Task<IReadOnlyList<InferenceItemResult>> InferManyAsync(IReadOnlyList<InferenceRequest> requests, bool sequential = false, CancellationToken cancellationToken = default);
}
