using System.Collections.Frozen;
using ModelKit.Deployments;
using ModelKit.Registry;

namespace ModelKit.Cluster;

/// <summary>
/// The deployments other nodes run, as they last reported them (written by <see cref="ClusterDeploymentManager"/>, read
/// by the router and the registry). As a usage guard it keeps a version that a deployment elsewhere serves from being
/// deleted through this node's registry, as a deployment here does.
/// </summary>
internal sealed class RemoteDeployments : IModelUsageGuard
{
    // A deployment this node learned of itself (it created, changed or looked it up) is kept for this long even when a
    // sync does not list it yet, or lists an older state of it: its node may not have reported it to the directory since.
    private static readonly TimeSpan LearnedHold = TimeSpan.FromSeconds(10);
    private readonly Lock _gate = new();
    private readonly Dictionary<string, DateTime> _learned = new(StringComparer.Ordinal);
    private FrozenDictionary<string, ClusterDeployment> _byId = FrozenDictionary<string, ClusterDeployment>.Empty;

    /// <summary>By deployment id.</summary>
    public FrozenDictionary<string, ClusterDeployment> ById => Volatile.Read(ref _byId);

    /// <summary>Takes in what a sync answered: every other node's deployments.</summary>
    public void Replace(IEnumerable<ClusterDeployment> synced)
    {
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            var next = synced.GroupBy(d => d.Info.DeploymentId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last(), StringComparer.Ordinal);
            foreach (var (id, learnedAt) in _learned.ToList())
            {
                if (now - learnedAt > LearnedHold) _learned.Remove(id);
                else if (ById.TryGetValue(id, out var kept) && (!next.TryGetValue(id, out var reported) || reported.Info.UpdatedAt < kept.Info.UpdatedAt)) next[id] = kept;
            }

            Volatile.Write(ref _byId, next.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }

    /// <summary>A deployment as its node just answered.</summary>
    public void Set(ClusterDeployment deployment)
    {
        lock (_gate)
        {
            _learned[deployment.Info.DeploymentId] = DateTime.UtcNow;
            var next = new Dictionary<string, ClusterDeployment>(ById, StringComparer.Ordinal) { [deployment.Info.DeploymentId] = deployment };
            Volatile.Write(ref _byId, next.ToFrozenDictionary(StringComparer.Ordinal));
        }
    }

    /// <summary>A deployment this node deleted.</summary>
    public void Remove(string deploymentId)
    {
        lock (_gate)
        {
            _learned.Remove(deploymentId);
            if (ById.ContainsKey(deploymentId)) Volatile.Write(ref _byId, ById.Where(p => p.Key != deploymentId).ToFrozenDictionary(StringComparer.Ordinal));
        }
    }

    /// <summary>The running deployment of <paramref name="modelId"/> on another node, or null.</summary>
    public ClusterDeployment? FindRunning(string modelId)
    {
        foreach (var entry in ById.Values)
        {
            if (entry.Info.ModelId == modelId && entry.Info.State == DeploymentState.Running) return entry;
        }

        return null;
    }

    /// <summary>The deployment of <paramref name="modelId"/> on another node that is not stopped or failed, or null.</summary>
    public DeploymentInfo? FindActive(string modelId)
    {
        foreach (var entry in ById.Values)
        {
            if (entry.Info.ModelId == modelId && entry.Info.State is not (DeploymentState.Stopped or DeploymentState.Failed)) return entry.Info;
        }

        return null;
    }

    public string? GetUsage(string modelId, string? version)
    {
        if (FindActive(modelId) is not { } d) return null;
        if (version is not null && version != d.Version && version != d.UpdatingToVersion) return null;
        return $"deployment '{d.DeploymentId}' ({DeploymentManager.Name(d.State)}) on another node serves version {d.Version}";
    }
}
