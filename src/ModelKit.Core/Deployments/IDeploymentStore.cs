namespace ModelKit.Deployments;

/// <summary>
/// Where a <see cref="DeploymentManager"/> keeps its deployments across restarts: <c>deployments.json</c> under the data
/// directory by default, the cluster's database when the node is one of a cluster.
/// </summary>
internal interface IDeploymentStore
{
    /// <summary>Where the deployments are kept, in words for the log (never shown to clients).</summary>
    string Location { get; }

    /// <summary>The deployments this node should bring back at start.</summary>
    IReadOnlyList<PersistedDeployment> Load();

    /// <summary>Replaces what is kept with <paramref name="deployments"/> (every deployment of this node).</summary>
    void Save(IEnumerable<PersistedDeployment> deployments);
}
