using ModelKit.Scheduling;

namespace ModelKit.AspNetCore.InferenceApi;

// The bodies of seed 003's health, task, statistics, example and job endpoints (ModelKit's definitions: the damaged
// seed names the calls but not their bodies), in the surface's style: "success", the payload, "timestamp".

/// <summary><c>GET /inference/health</c>: overall <c>status</c> (healthy, degraded, unhealthy; 503 when unhealthy, then <c>success</c> false) and each component's.</summary>
internal sealed record HealthResponse(bool Success, string Status, Dictionary<string, ComponentHealth> Components, double DurationMs, double Timestamp);

/// <summary>One health check.</summary>
internal sealed record ComponentHealth(string Status, string? Description, IReadOnlyDictionary<string, object> Data);

/// <summary><c>GET /inference/supported-tasks</c>: each task with the models registered for it and the engines that run them.</summary>
internal sealed record SupportedTasksResponse(bool Success, List<SupportedTask> Tasks, List<string> Engines, int Count, double Timestamp);

/// <summary>A task (a model's registered <c>model_type</c>; <c>unspecified</c> for models without one, which accept any task name).</summary>
internal sealed record SupportedTask(string Task, IReadOnlyList<string> Models, IReadOnlyList<string> Engines);

/// <summary><c>GET /inference/stats</c>.</summary>
internal sealed record StatsResponse(bool Success, InferenceStats Stats, double Timestamp);

/// <summary>
/// Real counters: request <c>totals</c> over every queue, each <c>queues</c> entry (keyed by deployment id, or
/// <c>model:version</c> when served on demand), the <c>cache</c> summary, <c>jobs</c> by status, request <c>latency</c>.
/// </summary>
internal sealed record InferenceStats(RequestTotals Totals, IReadOnlyDictionary<string, BatchQueueStats> Queues, CacheSummary Cache, Dictionary<string, int> Jobs, LatencyStats Latency);

/// <summary>Requests over all queues: accepted, their outcomes, waiting and running now, backend runs.</summary>
internal sealed record RequestTotals
{
    public long Requests { get; init; }
    public long Succeeded { get; init; }
    public long Failed { get; init; }
    public long TimedOut { get; init; }
    public long Cancelled { get; init; }
    public long Rejected { get; init; }
    public int InQueue { get; init; }
    public int Running { get; init; }
    public long Batches { get; init; }
    public long Terminated { get; init; }
    public double AverageBatchSize { get; init; }
}

/// <summary>The cache in brief (the whole is <c>GET /inference/cache/stats</c>).</summary>
internal sealed record CacheSummary(int Models, int MaxCacheSize, long MemoryBytes, long MemoryLimitBytes, double HitRate, long Evictions);

/// <summary><c>GET /inference/examples</c>: requests that work against this server, built from its models' signatures.</summary>
internal sealed record ExamplesResponse(bool Success, List<InferenceExample> Examples, int Count, double Timestamp);

/// <summary>One example: what it shows, the method and path (with this server's mount prefix), and the body to send.</summary>
internal sealed record InferenceExample(string Name, string Description, string Method, string Path, object? Body);

/// <summary>
/// An asynchronous job (<c>POST /inference/async</c>: 202; <c>GET</c>/<c>DELETE /inference/async/{id}</c>): its
/// <c>status</c> (queued, running, succeeded, failed, cancelled), times (Unix seconds), and on success <c>result</c> and
/// <c>processing_time</c> as <c>/inference/infer</c> returns them, on failure <c>error</c> in the seed's error object.
/// </summary>
internal sealed record InferenceJobResponse
{
    public bool Success { get; init; }
    public required string JobId { get; init; }
    public required string Status { get; init; }
    public required string ModelName { get; init; }
    public string? ModelVersion { get; init; }
    public double CreatedAt { get; init; }
    public double? StartedAt { get; init; }
    public double? CompletedAt { get; init; }
    public double? ExpiresAt { get; init; }
    public InferResult? Result { get; init; }
    public double? ProcessingTime { get; init; }
    public InferenceErrorDetail? Error { get; init; }
    public required string StatusUrl { get; init; }
    public double Timestamp { get; init; }
}
