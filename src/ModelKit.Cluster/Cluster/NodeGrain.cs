using ModelKit.Caching;
using ModelKit.Serving;
using Orleans.Concurrency;

namespace ModelKit.Cluster;

/// <summary>
/// Runs forwarded requests through this node's own router (the local one, never the cluster's: a forwarded request is
/// not forwarded again). Reentrant and interleaving: the grain only hands requests to the model's batch queue, where
/// they batch with the node's own requests.
/// </summary>
[NodePlacement]
[Reentrant]
internal sealed class NodeGrain(ModelRouter router, IModelCache cache) : Grain, INodeGrain
{
    public async Task<ForwardedOutcome> InferAsync(ForwardedInference request, GrainCancellationToken? cancellation = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = cancellation?.CancellationToken ?? CancellationToken.None;
        try
        {
            var model = await router.ResolveAsync(request.ModelId, request.Version, token).ConfigureAwait(true);
            var outputs = await model.InferAsync(
                ForwardedTensor.ToAll(request.Inputs), (Scheduling.RequestPriority?)request.Priority, request.Timeout, token).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
            return new ForwardedOutcome(ForwardedTensor.FromAll(outputs), null, null, null);
        }
        catch (ModelKitException ex)
        {
            return new ForwardedOutcome(null, ex.ErrorCode, ex.Message, ex switch
            {
                QueueFullException full => full.RetryAfter,
                RegistryUnavailableException unavailable => unavailable.RetryAfter,
                _ => null,
            });
        }
    }

    public Task<NodeLoad> GetLoadAsync()
    {
        var stats = cache.GetStats();
        var queued = 0;
        foreach (var queue in router.GetQueueStats().Values) queued += queue.QueueLength;
        var loaded = stats.Entries.Select(e => e.Key.ModelId).Distinct(StringComparer.Ordinal).ToArray();
        return Task.FromResult(new NodeLoad(this.GetPrimaryKeyString(), stats.MemoryLimitBytes, stats.MemoryBytes, queued, loaded, stats.MaxModels));
    }
}
