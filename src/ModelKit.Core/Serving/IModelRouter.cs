using ModelKit.Scheduling;

namespace ModelKit.Serving;

/// <summary>
/// The one owner of every servable model: resolves a model id (and version) to the handle that serves it — the model's
/// running deployment, or, when allowed, the registered version served on demand. Registry changes (delete, re-create,
/// a new default version) invalidate what it hands out; resolve once per request.
/// </summary>
public interface IModelRouter
{
    /// <summary>
    /// The handle serving <paramref name="modelId"/> at <paramref name="version"/> (its running deployment's version, or the
    /// default version, when null). Cheap on the hot path: routes are kept until the registry changes or for
    /// <see cref="ModelRouter.ResolveInterval"/>. Errors: MODEL_NOT_FOUND, DEPLOYMENT_NOT_RUNNING, INVALID_INPUT (no id).
    /// </summary>
    ValueTask<IServedModel> ResolveAsync(string modelId, string? version = null, CancellationToken cancellationToken = default);

    /// <summary>Queue counters of every running deployment (keyed by deployment id) and every model served on demand (keyed <c>model:version</c>).</summary>
    IReadOnlyDictionary<string, BatchQueueStats> GetQueueStats();

    /// <summary>The counters of every queue that serves <paramref name="modelId"/> (its deployments' and its on-demand ones), summed.</summary>
    BatchQueueStats GetQueueStats(string modelId);

    /// <summary>
    /// Served models that cannot serve because of a server-side fault: an artifact file of a served or deployed version
    /// is missing, or its last load failed with MODEL_UNAVAILABLE. Empty when all is well; readiness reports these.
    /// </summary>
    IReadOnlyList<ModelUnavailability> GetUnavailable();
}
