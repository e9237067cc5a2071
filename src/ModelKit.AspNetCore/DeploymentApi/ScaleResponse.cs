namespace ModelKit.AspNetCore;

/// <summary>Seed 000's answer to scale: <c>current_replicas</c> serving now, <c>target_replicas</c> asked for.</summary>
internal sealed record ScaleResponse
{
    public required string Message { get; init; }
    public int CurrentReplicas { get; init; }
    public int TargetReplicas { get; init; }
    public int PreviousReplicas { get; init; }
    public required string DeploymentId { get; init; }
}
