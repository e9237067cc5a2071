namespace ModelKit.Cluster;

/// <summary>
/// One per node, living on that node (<see cref="NodePlacementAttribute"/>, keyed by the silo's address): runs requests
/// that other nodes forward to it on its own models, and reports its load for placement.
/// </summary>
[Alias("modelkit.node")]
internal interface INodeGrain : IGrainWithStringKey
{
    /// <summary>Runs a forwarded request on this node (loading the model here when it is not loaded yet).</summary>
    [Alias("infer")]
    Task<ForwardedOutcome> InferAsync(ForwardedInference request, GrainCancellationToken? cancellation = null);

    /// <summary>This node's cache and queues.</summary>
    [Alias("load")]
    Task<NodeLoad> GetLoadAsync();
}
