using Microsoft.Extensions.Logging;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Diagnostics;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Inference;

/// <summary>One servable model version on one device: its signature, its queue and how to load it.</summary>
internal sealed class ModelRuntime
{
    public ModelRuntime(
        ModelCacheKey key,
        ModelLoadRequest load,
        ModelSignature? signature,
        BatchingOptions batching,
        RequestPriority defaultPriority,
        string? deploymentId,
        IModelCache cache,
        TimeProvider timeProvider,
        ModelKitMetrics metrics,
        ILogger logger)
    {
        Key = key;
        Load = load;
        Signature = signature;
        DefaultPriority = defaultPriority;
        DeploymentId = deploymentId;
        Queue = new BatchQueue(key.ModelId, batching, signature?.SupportsBatching ?? false, new CacheExecutor(cache, key, load), timeProvider, metrics, logger);
    }

    public ModelCacheKey Key { get; }
    public string ModelId => Key.ModelId;
    public string Version => Key.Version;
    public ModelLoadRequest Load { get; }
    public ModelSignature? Signature { get; }
    public RequestPriority DefaultPriority { get; set; }
    public string? DeploymentId { get; }
    public BatchQueue Queue { get; }
}

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
