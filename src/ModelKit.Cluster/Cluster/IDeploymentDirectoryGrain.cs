namespace ModelKit.Cluster;

/// <summary>
/// The cluster's deployments (one grain for the cluster): which node runs each one, as the nodes report it, and who runs
/// a new one. It also hands the deployments of nodes that left the cluster to nodes that remain.
/// </summary>
[Alias("modelkit.deployments")]
internal interface IDeploymentDirectoryGrain : IGrainWithStringKey
{
    public const string ClusterKey = "cluster";

    /// <summary>
    /// Records <paramref name="node"/>'s own deployments and answers every other node's (as they last reported them).
    /// Nodes call this every <see cref="ModelKitClusterOptions.DeploymentSyncInterval"/>.
    /// </summary>
    [Alias("sync")]
    Task<ClusterDeployment[]> SyncAsync(string node, Deployments.DeploymentInfo[] deployments);

    /// <summary>
    /// Reserves <paramref name="deploymentId"/> for a new deployment of <paramref name="modelId"/> and chooses its node:
    /// CONFLICT when the id is taken or the model is already deployed anywhere in the cluster. When no node answers for
    /// its load, <paramref name="requester"/> runs it.
    /// </summary>
    [Alias("reserve")]
    Task<DeploymentReservation> ReserveAsync(string deploymentId, string modelId, long sizeBytes, string[] exclude, string requester);

    /// <summary>The node that runs (or is creating) <paramref name="deploymentId"/>, or null when no node has it.</summary>
    [Alias("locate")]
    Task<string?> LocateAsync(string deploymentId);

    /// <summary>Forgets a reservation whose deployment was not created, or a deployment that was deleted.</summary>
    [Alias("release")]
    Task ReleaseAsync(string deploymentId);
}
