namespace ModelKit.Cluster;

/// <summary>
/// The cluster's placement of models on nodes (one activation for the cluster, key <see cref="ClusterKey"/>): which nodes
/// hold each model, chosen by free cache memory and queue length, kept to active nodes as nodes join, leave or die.
/// Placement decisions are serialised through this one grain, so two models placed at once do not both count the same
/// free memory.
/// </summary>
[Alias("modelkit.placement")]
internal interface IPlacementGrain : IGrainWithStringKey
{
    /// <summary>The key of the cluster's one placement grain.</summary>
    public const string ClusterKey = "cluster";

    /// <summary>
    /// The active nodes holding <paramref name="modelId"/>, placing it on more nodes when it has fewer than it should;
    /// <paramref name="sizeBytes"/> is the model's stored size, counted against the chosen nodes' free memory.
    /// </summary>
    [Alias("holders")]
    Task<string[]> GetHoldersAsync(string modelId, long sizeBytes);

    /// <summary>A node that did not answer for <paramref name="modelId"/>: no longer a holder; returns the holders after re-placing.</summary>
    [Alias("drop")]
    Task<string[]> DropHolderAsync(string modelId, string silo, long sizeBytes);

    /// <summary>Every model's holders (for operators and tests).</summary>
    [Alias("all")]
    Task<Dictionary<string, string[]>> GetPlacementsAsync();

    /// <summary>The active node with the most room for a model of <paramref name="sizeBytes"/> (ranked as holders are), or null when none answers.</summary>
    [Alias("choose")]
    Task<string?> ChooseNodeAsync(long sizeBytes, string[] exclude);
}
