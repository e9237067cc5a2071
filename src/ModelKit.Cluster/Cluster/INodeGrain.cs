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
    Task<ForwardedOutcome> InferAsync(ForwardedInference request, CancellationToken cancellationToken = default);

    /// <summary>Whether this node's data directory has the file with content <paramref name="sha256"/>.</summary>
    [Alias("has-content")]
    Task<bool> HasContentAsync(string sha256);

    /// <summary>Up to <paramref name="count"/> bytes of that file from <paramref name="offset"/> (fewer at its end, none past it); null when this node does not have it.</summary>
    [Alias("read-content")]
    Task<byte[]?> ReadContentAsync(string sha256, long offset, int count);

    /// <summary>This node's cache and queues.</summary>
    [Alias("load")]
    Task<NodeLoad> GetLoadAsync();

    /// <summary>Runs a deployment operation on this node's own deployments; a mutation returns once this node's deployments are saved.</summary>
    [Alias("deployment")]
    Task<DeploymentOutcome> DeploymentAsync(DeploymentCommand command, CancellationToken cancellationToken = default);

    /// <summary>Fetches the files of a version this node lacks, from the nodes that have them; null when it has them all now, else why not.</summary>
    [Alias("copy-version")]
    Task<string?> CopyVersionAsync(string modelId, string version);
}
