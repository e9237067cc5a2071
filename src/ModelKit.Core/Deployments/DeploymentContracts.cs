using Microsoft.Extensions.Logging;
using ModelKit.Scheduling;

namespace ModelKit.Deployments;

/// <summary>The life cycle of a deployment.</summary>
public enum DeploymentState
{
    /// <summary>Accepted; nothing loaded yet.</summary>
    Pending,
    /// <summary>The model is being loaded and warmed up.</summary>
    Loading,
    /// <summary>Serving requests.</summary>
    Running,
    /// <summary>Draining its queue; accepts no new requests.</summary>
    Stopping,
    /// <summary>Not serving; can be started again.</summary>
    Stopped,
    /// <summary>Could not be brought up; <see cref="DeploymentInfo.FailureReason"/> says why. Can be started again.</summary>
    Failed,
}

/// <summary>The state of one step of bringing a deployment up.</summary>
public enum DeploymentStageStatus
{
    /// <summary>Not started.</summary>
    Pending,
    /// <summary>Running now.</summary>
    InProgress,
    /// <summary>Done.</summary>
    Completed,
    /// <summary>Not applicable to this model (for example warm-up of a model with string inputs).</summary>
    Skipped,
    /// <summary>Failed; the deployment failed with it.</summary>
    Failed,
}

/// <summary>What a new deployment should serve and how.</summary>
public sealed record DeploymentSpec
{
    /// <summary>The deployment's id; generated (<c>dep-…</c>) when null.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>The registered model to serve.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version; the model's default (latest ready) version when null.</summary>
    public string? Version { get; init; }

    /// <summary>Desired replicas: batches of this model that may run at once. Default: 1.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>
    /// The autoscaler's lower bound; when null, <see cref="Replicas"/> if <see cref="MaxReplicas"/> is null too
    /// (a fixed size), else 1. Above 0 the model is pinned in the
    /// cache; 0 lets an idle model be evicted and reloaded on its next request.
    /// </summary>
    public int? MinReplicas { get; init; }

    /// <summary>The autoscaler's upper bound; <see cref="Replicas"/> when null. Autoscaling is on when it is above the lower bound.</summary>
    public int? MaxReplicas { get; init; }

    /// <summary>Queued requests per replica above which the autoscaler adds a replica. Default: 8.</summary>
    public int TargetQueueDepth { get; init; } = 8;

    /// <summary>Memory reserved for this deployment out of the cache's budget; refused with INSUFFICIENT_RESOURCES when it does not fit.</summary>
    public long? MemoryRequestBytes { get; init; }

    /// <summary>The execution device (<c>cpu</c>, <c>cuda:N</c>); the inference service's default device when null.</summary>
    public string? Device { get; init; }

    /// <summary>Batching settings; the inference service's defaults when null. <see cref="BatchingOptions.Instances"/> is replaced by the replica count.</summary>
    public BatchingOptions? Batching { get; init; }

    /// <summary>The priority of requests that name none. Default: normal.</summary>
    public RequestPriority DefaultPriority { get; init; } = RequestPriority.Normal;

    /// <summary>Intra-op threads of the session; the inference service's setting when null.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>
    /// Free key/value settings kept with the deployment and shown in its status (seed 000's
    /// <c>environment_variables</c>). ModelKit runs models in-process, so they are not applied to a process environment.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

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
}

/// <summary>One line of a deployment's log.</summary>
public sealed record DeploymentLogEntry(DateTimeOffset Timestamp, LogLevel Level, string Message);

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
}

/// <summary>Settings of the deployment manager.</summary>
public sealed class DeploymentOptions
{
    /// <summary>Log lines kept per deployment (oldest dropped first). Default: 200.</summary>
    public int MaxLogEntries { get; set; } = 200;

    /// <summary>How often the autoscaler looks at queue depths. Default: 2 s.</summary>
    public TimeSpan AutoscaleInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive idle looks (empty queue, a replica unused) before one replica is removed. Default: 5.</summary>
    public int ScaleDownAfterIdleChecks { get; set; } = 5;

    /// <summary>How long stopping waits for queued and running requests before failing the rest. Default: 30 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Runs one request of zeros through a freshly loaded model before it takes traffic. Default: true.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>
    /// Saves deployments to <c>deployments.json</c> under <see cref="ModelKitOptions.DataDirectory"/> after every change,
    /// and brings them back when the host starts (<see cref="DeploymentManager.RestoreAsync"/>). Default: true.
    /// </summary>
    public bool Persist { get; set; } = true;
}

/// <summary>Makes model versions servable: replicas, autoscaling, devices, batching, rolling updates.</summary>
public interface IDeploymentManager
{
    /// <summary>
    /// Validates <paramref name="spec"/> and starts bringing the deployment up in the background; returns it in
    /// <see cref="DeploymentState.Pending"/>. Errors: MODEL_NOT_FOUND, INVALID_MODEL_CONFIG (bad settings),
    /// CONFLICT (the model is already deployed), INSUFFICIENT_RESOURCES (the memory request does not fit),
    /// DEVICE_UNAVAILABLE (an unknown device name).
    /// </summary>
    Task<DeploymentInfo> DeployAsync(DeploymentSpec spec, CancellationToken cancellationToken = default);

    /// <summary>Waits until the deployment runs; DEPLOYMENT_FAILED when it fails, CONFLICT when it is stopped first.</summary>
    Task<DeploymentInfo> WaitUntilRunningAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>The deployment, or DEPLOYMENT_NOT_FOUND.</summary>
    DeploymentInfo GetDeployment(string deploymentId);

    /// <summary>The deployment, or null.</summary>
    DeploymentInfo? FindDeployment(string deploymentId);

    /// <summary>The deployment that serves <paramref name="modelId"/> (not stopped or failed), or null.</summary>
    DeploymentInfo? FindByModel(string modelId);

    /// <summary>Every deployment, optionally only those in <paramref name="state"/>, oldest first.</summary>
    IReadOnlyList<DeploymentInfo> ListDeployments(DeploymentState? state = null);

    /// <summary>The newest <paramref name="lines"/> log lines, oldest first.</summary>
    IReadOnlyList<DeploymentLogEntry> GetLogs(string deploymentId, int lines = 100);

    /// <summary>Sets the desired replicas (and optionally the bounds) at once, without reloading.</summary>
    DeploymentInfo Scale(string deploymentId, int replicas, int? minReplicas = null, int? maxReplicas = null);

    /// <summary>
    /// Applies <paramref name="update"/>; completes when the new settings serve. When the new version fails to
    /// come up, the old one keeps serving and DEPLOYMENT_FAILED is thrown.
    /// </summary>
    Task<DeploymentInfo> UpdateAsync(string deploymentId, DeploymentUpdate update, CancellationToken cancellationToken = default);

    /// <summary>Stops serving: new requests are refused, queued and running ones finish (up to the drain timeout). The record stays.</summary>
    Task<DeploymentInfo> StopAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>Brings a stopped or failed deployment up again (in the background, like <see cref="DeployAsync"/>).</summary>
    Task<DeploymentInfo> StartAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>Stops (if needed), unloads the model and forgets the deployment.</summary>
    Task DeleteAsync(string deploymentId, CancellationToken cancellationToken = default);
}
