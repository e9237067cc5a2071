using ModelKit.Scheduling;

namespace ModelKit.Deployments;

/// <summary>A snapshot of a deployment.</summary>
public sealed record DeploymentInfo
{
    /// <summary>The id.</summary>
    public required string DeploymentId { get; init; }
    /// <summary>The model.</summary>
    public required string ModelId { get; init; }
    /// <summary>The version served (or being brought up).</summary>
    public required string Version { get; init; }
    /// <summary>The version being rolled in by an update, if any.</summary>
    public string? UpdatingToVersion { get; init; }
    /// <summary>The device.</summary>
    public required string Device { get; init; }
    /// <summary>The state.</summary>
    public DeploymentState State { get; init; }
    /// <summary>Why it failed.</summary>
    public string? FailureReason { get; init; }
    /// <summary>The error code of the failure (for example DEVICE_UNAVAILABLE).</summary>
    public string? FailureCode { get; init; }
    /// <summary>Replicas asked for (by the caller or the autoscaler).</summary>
    public int DesiredReplicas { get; init; }
    /// <summary>Replicas the queue runs with now (0 unless running).</summary>
    public int ReadyReplicas { get; init; }
    /// <summary>The autoscaler's lower bound.</summary>
    public int MinReplicas { get; init; }
    /// <summary>The autoscaler's upper bound.</summary>
    public int MaxReplicas { get; init; }
    /// <summary>True when <see cref="MaxReplicas"/> is above the lower bound.</summary>
    public bool Autoscaling => MaxReplicas > Math.Max(1, MinReplicas);
    /// <summary>Queued requests per replica that trigger a scale-up.</summary>
    public int TargetQueueDepth { get; init; }
    /// <summary>Reserved memory.</summary>
    public long? MemoryRequestBytes { get; init; }
    /// <summary>Memory the loaded model uses, as the cache measured or estimated it.</summary>
    public long? MemoryUsedBytes { get; init; }
    /// <summary>Batching settings.</summary>
    public required BatchingOptions Batching { get; init; }
    /// <summary>Priority of requests that name none.</summary>
    public RequestPriority DefaultPriority { get; init; }
    /// <summary>True when the model is pinned in the cache (min replicas above 0).</summary>
    public bool Pinned { get; init; }
    /// <summary>When it was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>When it last became running.</summary>
    public DateTimeOffset? StartedAt { get; init; }
    /// <summary>The steps of the last bring-up.</summary>
    public required IReadOnlyList<DeploymentStage> Stages { get; init; }
    /// <summary>The step in progress, if any.</summary>
    public string? CurrentStage { get; init; }
    /// <summary>Percent of the steps finished (0–100).</summary>
    public int Progress { get; init; }
    /// <summary>Queue counters while running.</summary>
    public BatchQueueStats? Queue { get; init; }
    /// <summary>The kept key/value settings.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Its text generation settings; null: the generation service's.</summary>
    public GenerationLimits? Generation { get; init; }

    /// <summary>
    /// The download that brings the model into the registry, for a deployment started from a source
    /// (<see cref="DeploymentSpec.Source"/>); its progress is the <c>download</c> stage's. Null otherwise.
    /// </summary>
    public string? DownloadTaskId { get; init; }

    /// <summary>The source of <see cref="DownloadTaskId"/>'s download (<c>huggingface</c>, <c>url</c>, <c>file</c> …); null without one.</summary>
    public string? DownloadSource { get; init; }
}
