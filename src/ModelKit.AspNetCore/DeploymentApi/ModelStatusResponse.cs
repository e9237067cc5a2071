using System.Text.Json.Serialization;
using ModelKit.Scheduling;

namespace ModelKit.AspNetCore;

/// <summary>Seed 000's status of a model's deployment, with ModelKit's stages, queue and failure details beside it.</summary>
internal sealed record ModelStatusResponse
{
    public required string ModelId { get; init; }
    public string? Name { get; init; }
    public required string Version { get; init; }

    /// <summary>Seed 000's state: pending (accepted or loading), running, failed or stopped (stopping or stopped).</summary>
    public required string Status { get; init; }
    public required ReplicaCounts Replicas { get; init; }
    public required IReadOnlyList<ServiceEndpoint> Endpoints { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public required ResourceUsage ResourceUsage { get; init; }

    public required string DeploymentId { get; init; }

    /// <summary>ModelKit's own state (pending, loading, running, stopping, stopped, failed).</summary>
    public required string State { get; init; }
    public required string Device { get; init; }
    public string? Framework { get; init; }
    public string? FailureReason { get; init; }
    public string? FailureCode { get; init; }
    public int Progress { get; init; }
    public string? CurrentStage { get; init; }
    public required IReadOnlyList<StageStatus> Stages { get; init; }
    public BatchQueueStats? Queue { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public IReadOnlyDictionary<string, string>? EnvironmentVariables { get; init; }
}

/// <summary>Seed 000's <c>replicas</c>: desired, current (execution instances), ready (serving), and the autoscaler's bounds.</summary>
internal sealed record ReplicaCounts(int Desired, int Current, int Ready, int Min, int Max);

/// <summary>One of seed 000's <c>endpoints</c>: its type and absolute URL, built from the request's scheme, host and mount prefix.</summary>
internal sealed record ServiceEndpoint(string Type, string Url);

/// <summary>
/// Seed 000's <c>resource_usage</c> as Kubernetes-style quantities: <c>memory</c> (the loaded model, as the cache measured
/// or estimated it), <c>gpu</c> (GPUs the deployment runs on: 0 or 1). <c>cpu</c> is null: models run in the server's
/// process and CPU time is not measured per deployment.
/// </summary>
internal sealed record ResourceUsage
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Cpu { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Memory { get; init; }

    public required string Gpu { get; init; }
    public long? MemoryBytes { get; init; }

    /// <summary>The memory reserved for the deployment (<c>resource_requirements.memory</c>), if any.</summary>
    public string? MemoryRequest { get; init; }
    public long? MemoryRequestBytes { get; init; }
}

/// <summary>One bring-up stage.</summary>
internal sealed record StageStatus(string Name, string Status, DateTimeOffset? StartedAt, double? DurationMs, string? Message);
