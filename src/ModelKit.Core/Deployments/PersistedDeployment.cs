using ModelKit.Scheduling;

namespace ModelKit.Deployments;

/// <summary>What is kept of a deployment across restarts: its settings and whether it should run.</summary>
internal sealed record PersistedDeployment
{
    public required string DeploymentId { get; init; }
    public required string ModelId { get; init; }
    public required string Version { get; init; }
    public required string Device { get; init; }
    public int Replicas { get; init; }
    public int MinReplicas { get; init; }
    public int MaxReplicas { get; init; }
    public int TargetQueueDepth { get; init; }
    public long? MemoryRequestBytes { get; init; }
    public int MaxBatchSize { get; init; }
    public long? MaxBatchElements { get; init; }
    public double MaxQueueDelayMs { get; init; }
    public int MaxQueueSize { get; init; }
    public bool InlineExecution { get; init; }
    public RequestPriority DefaultPriority { get; init; }
    public int? IntraOpThreads { get; init; }
    public int? MaxContextLength { get; init; }
    public long? KvCacheBytes { get; init; }
    public bool Running { get; init; }
    public string? DownloadTaskId { get; init; }
    public string? DownloadSource { get; init; }
    public Dictionary<string, string>? Environment { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}
