namespace ModelKit.Deployments;

/// <summary>One step of bringing a deployment up.</summary>
public sealed record DeploymentStage
{
    /// <summary><c>preparation</c>, <c>model_loading</c>, <c>warmup</c> or <c>service_registration</c>.</summary>
    public required string Name { get; init; }
    /// <summary>Its state.</summary>
    public DeploymentStageStatus Status { get; init; }
    /// <summary>When it started.</summary>
    public DateTimeOffset? StartedAt { get; init; }
    /// <summary>How long it took (so far).</summary>
    public TimeSpan? Duration { get; init; }
    /// <summary>A note (why it was skipped or failed).</summary>
    public string? Message { get; init; }

    /// <summary>How far the stage is, in percent, for a stage that can tell (the download stage); null otherwise.</summary>
    public double? Progress { get; init; }
}
