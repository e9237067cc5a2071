namespace ModelKit.AspNetCore;

internal sealed record ScalingConfig
{
    public int? Replicas { get; init; }
    public int? MinReplicas { get; init; }
    public int? MaxReplicas { get; init; }
    public int? TargetCpuUtilization { get; init; }
    public int? TargetQueueDepth { get; init; }
}
