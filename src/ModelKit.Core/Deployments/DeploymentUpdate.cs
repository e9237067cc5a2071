using ModelKit.Scheduling;

namespace ModelKit.Deployments;

/// <summary>
/// A change to a running deployment. A new <see cref="Version"/>, <see cref="Device"/> or <see cref="Batching"/>
/// is rolled in: the new runtime is loaded and warmed up next to the old one, then takes the traffic while the
/// old one finishes what it had. Null members keep their value.
/// </summary>
public sealed record DeploymentUpdate
{
    /// <summary>The version to roll in.</summary>
    public string? Version { get; init; }
    /// <summary>The device to move to.</summary>
    public string? Device { get; init; }
    /// <summary>New batching settings.</summary>
    public BatchingOptions? Batching { get; init; }
    /// <summary>New desired replicas.</summary>
    public int? Replicas { get; init; }
    /// <summary>New lower bound.</summary>
    public int? MinReplicas { get; init; }
    /// <summary>New upper bound.</summary>
    public int? MaxReplicas { get; init; }
    /// <summary>New autoscaling target.</summary>
    public int? TargetQueueDepth { get; init; }
    /// <summary>New memory request.</summary>
    public long? MemoryRequestBytes { get; init; }
    /// <summary>New default priority.</summary>
    public RequestPriority? DefaultPriority { get; init; }
    /// <summary>Replaces the kept key/value settings.</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}
