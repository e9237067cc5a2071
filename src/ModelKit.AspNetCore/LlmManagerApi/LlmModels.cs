namespace ModelKit.AspNetCore;

// Seed 004's data shapes: each field as the seed names it; fields ModelKit cannot fill are left out (null), and what
// ModelKit knows beyond the seed is added inside the documented shape (docs/seed-conformance.md).

/// <summary><c>GET /health</c> (bare, as the seed shows it).</summary>
internal sealed record LlmServiceHealth(string Status, string Service, string Version, IReadOnlyDictionary<string, LlmCheck> Checks);

/// <summary><c>GET /api/health</c> (bare, as the seed shows it).</summary>
internal sealed record LlmApiHealth(string Status, string ApiVersion, string Service, IReadOnlyDictionary<string, LlmCheck> Checks);

/// <summary>One health check.</summary>
internal sealed record LlmCheck(string Status, string? Description);

/// <summary><c>GET /api/system/resources</c>.</summary>
internal sealed record LlmResources(LlmCpu Cpu, LlmUsage Memory, LlmUsage Disk, IReadOnlyList<double> LoadAverage);

/// <summary>CPU use (machine and this process) and cores.</summary>
internal sealed record LlmCpu(double UsagePercent, int Cores, double ProcessUsagePercent, string? ModelName);

/// <summary>Memory or disk in GB (binary): memory names its free part <c>available_gb</c>, disk <c>free_gb</c>.</summary>
internal sealed record LlmUsage
{
    public double TotalGb { get; init; }
    public double UsedGb { get; init; }
    public double? AvailableGb { get; init; }
    public double? FreeGb { get; init; }
    public double UsagePercent { get; init; }
    /// <summary>This process's resident memory (memory only).</summary>
    public long? ProcessBytes { get; init; }
}

/// <summary><c>GET /api/system/load</c>.</summary>
internal sealed record LlmLoad(IReadOnlyList<double> LoadAverage, LlmCpu Cpu, LlmThreadPool ThreadPool, LlmInferenceLoad Inference);

/// <summary>Thread-pool threads and queued work items.</summary>
internal sealed record LlmThreadPool(int Threads, long QueuedWorkItems);

/// <summary>The inference queues added up.</summary>
internal sealed record LlmInferenceLoad(int QueuedRequests, int RunningBatches, int Replicas, int RunningDeployments, double? AverageLatencyMs);

/// <summary><c>GET /api/system/health</c>.</summary>
internal sealed record LlmSystemHealth(string Status, IReadOnlyDictionary<string, LlmCheck> Checks, object? Deployments, object? FailedDeployments, LlmResources Resources);

/// <summary>A model of the registry as seed 004's catalogue shows it.</summary>
internal sealed record LlmModel
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    /// <summary>The registry's task (<c>classification</c>, <c>feature-extraction</c> …).</summary>
    public string? ModelType { get; init; }
    /// <summary><c>local</c>: the registry (where a model downloaded from a hub now lives too).</summary>
    public required string Source { get; init; }
    /// <summary>The parameter count (<c>117M</c>): not known to ModelKit, left out.</summary>
    public string? Parameters { get; init; }
    /// <summary>The hub's downloads of a model downloaded from a hub, as the last sync found them; left out otherwise.</summary>
    public long? Downloads { get; init; }
    /// <summary>The hub's likes of a model downloaded from a hub, as the last sync found them; left out otherwise (see <see cref="Favorite"/>).</summary>
    public long? Likes { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>The files of all versions, in GB.</summary>
    public double SizeGb { get; init; }
    public long SizeBytes { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public required string Framework { get; init; }
    /// <summary>The default version's status: <c>uploading</c>, <c>ready</c> or <c>failed</c>.</summary>
    public required string Status { get; init; }
    public bool Favorite { get; init; }
    public string? DefaultVersion { get; init; }
    public string? DeploymentId { get; init; }
    public string? DeploymentStatus { get; init; }
    /// <summary>The versions (model info only).</summary>
    public IReadOnlyList<LlmVersion>? Versions { get; init; }
    /// <summary>The default version's inputs (model info only).</summary>
    public IReadOnlyList<LlmTensor>? Inputs { get; init; }
    /// <summary>The default version's outputs (model info only).</summary>
    public IReadOnlyList<LlmTensor>? Outputs { get; init; }
}

/// <summary>One version of a model.</summary>
internal sealed record LlmVersion(string Version, string Status, long SizeBytes, string? Sha256, DateTimeOffset CreatedAt);

/// <summary>One input or output: name, datatype and shape (-1 for a dynamic dimension).</summary>
internal sealed record LlmTensor(string Name, string Datatype, IReadOnlyList<long> Shape);

/// <summary>A page of items.</summary>
internal sealed record LlmPage<T>(IReadOnlyList<T> Items, LlmPagination Pagination);

/// <summary>Seed 004's pagination; <c>total</c> and <c>total_pages</c> are null for a hub search past its last known page (the hub never says how many match).</summary>
internal sealed record LlmPagination(int Page, int PageSize, int? Total, int? TotalPages, bool HasNext, bool HasPrev);

/// <summary>A model of the hub as seed 004's catalogue shows it (<c>source=huggingface</c>): what the hub said, nothing made up.</summary>
internal sealed record LlmHubModel
{
    public required string Id { get; init; }
    /// <summary>The repository's name (the part after the owner).</summary>
    public required string Name { get; init; }
    /// <summary>The hub's API gives no description; left out.</summary>
    public string? Description { get; init; }
    /// <summary>The hub's pipeline tag.</summary>
    public string? ModelType { get; init; }
    public string Source { get; init; } = "huggingface";
    /// <summary>The parameter count (<c>117M</c>) when the hub reports it; null otherwise.</summary>
    public string? Parameters { get; init; }
    public long? Downloads { get; init; }
    public long? Likes { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public string? Author { get; init; }
    public string? LibraryName { get; init; }
    public bool Gated { get; init; }
    /// <summary>The commit of the revision shown (info only).</summary>
    public string? Sha { get; init; }
    /// <summary>The files' total size (info only).</summary>
    public double? SizeGb { get; init; }
    public long? SizeBytes { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
    /// <summary>The files (info only): path, size, sha256 for LFS files.</summary>
    public IReadOnlyList<LlmHubFile>? Files { get; init; }
    /// <summary>Whether the registry holds a model with this id (a finished download).</summary>
    public bool Registered { get; init; }
}

/// <summary>One file of a hub model.</summary>
internal sealed record LlmHubFile(string Path, long? Size, string? Sha256);

/// <summary><c>GET /api/models/categories</c>: model types and frameworks with their counts.</summary>
internal sealed record LlmCategories(IReadOnlyList<LlmCount> Categories, IReadOnlyList<LlmCount> Frameworks);

/// <summary>A name and how many models have it.</summary>
internal sealed record LlmCount(string Name, int Count);

/// <summary><c>GET /api/models/trending</c>: the most used models.</summary>
internal sealed record LlmTrending(IReadOnlyList<LlmUsageItem> Models, string Basis);

/// <summary>How much one model was used.</summary>
internal sealed record LlmUsageItem(string Id, long Runs, DateTimeOffset LastUsed);

/// <summary><c>GET /api/models/stats</c>.</summary>
internal sealed record LlmModelStats
{
    public int TotalModels { get; init; }
    public int TotalVersions { get; init; }
    public long TotalSizeBytes { get; init; }
    public double TotalSizeGb { get; init; }
    public int Favorites { get; init; }
    public required IReadOnlyDictionary<string, int> ByStatus { get; init; }
    public required IReadOnlyDictionary<string, int> ByFramework { get; init; }
    public required IReadOnlyDictionary<string, int> ByModelType { get; init; }
    public int Deployed { get; init; }
}

/// <summary><c>GET /api/downloads/storage</c>: the disk of the data directory, what the registry's models and unfinished downloads take of it, and the free space downloads keep.</summary>
internal sealed record LlmStorage(
    double TotalGb, double UsedGb, double FreeGb, double UsagePercent, long ModelsSizeBytes, double ModelsSizeGb, int Models, int Versions,
    long DownloadsSizeBytes, double DownloadsSizeGb, long ReservedFreeBytes);

/// <summary>A deployment as seed 004 shows it.</summary>
internal sealed record LlmDeployment
{
    public required string DeploymentId { get; init; }
    public required string ModelId { get; init; }
    /// <summary><c>local</c> for a registered model; the download's source (<c>huggingface</c>) for one deployed from a hub.</summary>
    public required string ModelSource { get; init; }
    /// <summary>The download that brings the model into the registry (see <c>GET /api/downloads/{task_id}</c>); null for a registered model.</summary>
    public string? DownloadTaskId { get; init; }
    public required string Status { get; init; }
    /// <summary>The host the request reached: ModelKit serves deployments in-process, at its own address.</summary>
    public required string Host { get; init; }
    public int Port { get; init; }
    /// <summary>Left out: ModelKit keeps the KV-cache budget it was turned into, in bytes, not the share.</summary>
    public double? GpuMemoryUtilization { get; init; }
    /// <summary>The deployment's context limit for text generation, when its start request set one.</summary>
    public int? MaxModelLen { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public required string Version { get; init; }
    public required string Device { get; init; }
    public required LlmReplicas Replicas { get; init; }
    public int Progress { get; init; }
    public string? CurrentStage { get; init; }
    public required IReadOnlyList<LlmStage> Stages { get; init; }
    public string? FailureReason { get; init; }
    public string? FailureCode { get; init; }
    public long? MemoryBytes { get; init; }
    /// <summary>Settings of the start request that ModelKit does not apply, with the reason (start only).</summary>
    public IReadOnlyList<string>? Notes { get; init; }
}

/// <summary>Replica counts.</summary>
internal sealed record LlmReplicas(int Desired, int Ready, int Min, int Max);

/// <summary>One bring-up stage.</summary>
internal sealed record LlmStage(string Name, string Status, DateTimeOffset? StartedAt, double? DurationMs, string? Message, double? Progress = null);

/// <summary><c>GET /api/deployments/list</c>.</summary>
internal sealed record LlmDeploymentList(IReadOnlyList<LlmDeployment> Deployments, int Total);

/// <summary><c>GET /api/deployments/{deployment_id}/logs</c>.</summary>
internal sealed record LlmDeploymentLogs(string DeploymentId, IReadOnlyList<LlmLogLine> Logs);

/// <summary>One log line.</summary>
internal sealed record LlmLogLine(DateTimeOffset Timestamp, string Level, string Message);

/// <summary><c>GET /api/deployments/{deployment_id}/health</c>.</summary>
internal sealed record LlmDeploymentHealth(string DeploymentId, string Status, string State, int ReadyReplicas, string? FailureReason, int QueueLength, double? AverageLatencyMs);

/// <summary><c>GET /api/deployments/{deployment_id}/model-info</c>.</summary>
internal sealed record LlmDeploymentModelInfo
{
    public required string DeploymentId { get; init; }
    public required string ModelId { get; init; }
    public required string Name { get; init; }
    public required string Version { get; init; }
    public required string Framework { get; init; }
    public string? ModelType { get; init; }
    public required string Device { get; init; }
    public long? MemoryBytes { get; init; }
    public long SizeBytes { get; init; }
    public string? Sha256 { get; init; }
    public IReadOnlyList<LlmTensor>? Inputs { get; init; }
    public IReadOnlyList<LlmTensor>? Outputs { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary><c>DELETE /api/deployments/{deployment_id}</c>.</summary>
internal sealed record LlmDeploymentDeleted(string DeploymentId, bool Deleted);


/// <summary><c>POST /api/models/sync</c>'s optional body: the models to sync (all downloaded from a hub when absent).</summary>
internal sealed record LlmSyncBody(IReadOnlyList<string>? ModelIds);

/// <summary><c>POST /api/models/sync</c>'s data: counts, and what happened to each model.</summary>
internal sealed record LlmSyncResult(int Synced, int Failed, int Skipped, IReadOnlyList<LlmSyncItem> Models);

/// <summary>One model's sync: its hub repository, the revision downloaded and the hub's current one, the hub's figures.</summary>
internal sealed record LlmSyncItem(
    string Id, string Status, string? Repository, string? DownloadedRevision, string? HubRevision, bool UpdateAvailable, long? Downloads, long? Likes, long? SizeBytes,
    string? ErrorCode, string? Message);
