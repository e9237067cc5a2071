using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace ModelKit.Cluster;

/// <summary>Places a grain keyed by a silo's address (<see cref="SiloAddress.ToParsableString"/>) on that silo, and nowhere else.</summary>
[GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class NodePlacementStrategy : PlacementStrategy
{
    public static readonly NodePlacementStrategy Instance = new();
}

/// <summary>The grain lives on the silo its key names: one <see cref="INodeGrain"/> per node.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class NodePlacementAttribute() : PlacementAttribute(NodePlacementStrategy.Instance);

/// <summary>
/// Chooses the silo the grain's key names. When that silo is not among the active ones (it left or died), the placement
/// fails, so that a call to a gone node fails instead of running somewhere else.
/// </summary>
internal sealed class NodePlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var key = target.GrainIdentity.Key.ToString();
        foreach (var silo in context.GetCompatibleSilos(target))
        {
            if (silo.ToParsableString() == key) return Task.FromResult(silo);
        }

        throw new SiloUnavailableException($"Node {key} is not an active member of the cluster.");
    }
}
