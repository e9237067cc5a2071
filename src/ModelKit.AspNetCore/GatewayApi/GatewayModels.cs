namespace ModelKit.AspNetCore;

// Seed 001's data shapes: each field as the seed names it; fields ModelKit cannot fill are left out (null), and what
// ModelKit knows beyond the seed is added inside the documented shape (docs/seed-conformance.md).

/// <summary><c>GET /models</c>: the available models.</summary>
internal sealed record GatewayModelList(IReadOnlyList<GatewayModel> Models);

/// <summary>One available model.</summary>
internal record GatewayModel
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    /// <summary>The default version.</summary>
    public string? Version { get; init; }
    public required IReadOnlyList<string> Capabilities { get; init; }
    /// <summary><c>local</c> for the models ModelKit holds; a remote model's provider (<c>openai</c>, <c>anthropic</c> …).</summary>
    public required string Provider { get; init; }
    public required string Status { get; init; }
    /// <summary>Where a local model is served; left out for a remote one, as the seed's remote examples have none.</summary>
    public GatewayModelDeployment? Deployment { get; init; }
    /// <summary>The registry's task (model type), e.g. <c>feature-extraction</c>; left out for a remote model.</summary>
    public string? ModelType { get; init; }
    /// <summary>The registry's framework (<c>onnx</c>); left out for a remote model.</summary>
    public string? Framework { get; init; }
}

/// <summary>Where a model is served: always locally, on <see cref="Hardware"/>.</summary>
internal sealed record GatewayModelDeployment
{
    /// <summary><c>local</c>.</summary>
    public required string Type { get; init; }
    /// <summary>The processor's model name for <c>cpu</c>, else the device (<c>cuda:0</c>).</summary>
    public required string Hardware { get; init; }
    /// <summary>Not known to ModelKit (it does not read the element types of a model's weights): left out.</summary>
    public string? Quantization { get; init; }
    /// <summary><c>cpu</c> or <c>cuda:N</c>.</summary>
    public required string Device { get; init; }
    /// <summary>The deployment that serves the model; null when it is served on demand.</summary>
    public string? DeploymentId { get; init; }
}

/// <summary><c>GET /models/{model_id}</c>: the model with measured stats.</summary>
internal sealed record GatewayModelDetail : GatewayModel
{
    /// <summary>The listed model, with the details below added.</summary>
    [System.Diagnostics.CodeAnalysis.SetsRequiredMembers]
    public GatewayModelDetail(GatewayModel listed)
        : base(listed)
    {
        Stats = new GatewayModelStats();
    }

    public required GatewayModelStats Stats { get; init; }
    /// <summary>The seed's <c>parameters</c>: for a remote model with a configured context length, its <c>max_tokens</c>; else left out.</summary>
    public GatewayModelParameters? Parameters { get; init; }
    public IReadOnlyList<string> Tags { get; init; } = [];
    public IReadOnlyList<string> Versions { get; init; } = [];
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>The seed's <c>parameters</c>, as far as they are known.</summary>
internal sealed record GatewayModelParameters(int MaxTokens);

/// <summary>Measured on the model's queues since they started (this process): null before the first request.</summary>
internal sealed record GatewayModelStats
{
    /// <summary>Mean time from enqueue to outputs of the requests that succeeded, in milliseconds.</summary>
    public double? AverageLatencyMs { get; init; }
    /// <summary>Succeeded ÷ (succeeded + failed + timed out + refused for a full queue); cancelled requests do not count.</summary>
    public double? Availability { get; init; }
    /// <summary>Requests that returned outputs.</summary>
    public long SucceededRequests { get; init; }
    /// <summary>Requests that failed, timed out or were refused.</summary>
    public long FailedRequests { get; init; }
}

/// <summary><c>GET /models/local</c>: the deployed models.</summary>
internal sealed record GatewayLocalModelList(IReadOnlyList<GatewayLocalModel> Models);

/// <summary>One deployed model.</summary>
internal sealed record GatewayLocalModel
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Version { get; init; }
    public required string Status { get; init; }
    public required GatewayLocalDeployment Deployment { get; init; }
    public required GatewayPerformance Performance { get; init; }
}

/// <summary>A deployment as seed 001's local model list shows it.</summary>
internal sealed record GatewayLocalDeployment
{
    public required string DeploymentId { get; init; }
    /// <summary>This host's name: ModelKit serves in-process, on one node.</summary>
    public required string NodeId { get; init; }
    public required string Hardware { get; init; }
    /// <summary>The memory the loaded model holds, as the seed writes it (<c>28GB</c>); null until loaded.</summary>
    public string? MemoryUsage { get; init; }
    public long? MemoryBytes { get; init; }
    /// <summary>Not known to ModelKit: left out.</summary>
    public string? Quantization { get; init; }
    /// <summary>When it last became running.</summary>
    public DateTimeOffset? LoadedAt { get; init; }
    /// <summary><c>healthy</c> (running with a ready replica) or <c>unhealthy</c>.</summary>
    public required string Health { get; init; }
    public required string Device { get; init; }
    public int Replicas { get; init; }
}

/// <summary>Measured performance of a deployment.</summary>
internal sealed record GatewayPerformance
{
    /// <summary>Tensor models produce no tokens: left out until text generation (issue 11).</summary>
    public double? TokensPerSecond { get; init; }
    /// <summary>Mean time from enqueue to outputs of the succeeded requests, in milliseconds; null before the first.</summary>
    public double? AvgLatencyMs { get; init; }
    /// <summary>The deployment's batching limit.</summary>
    public int MaxBatchSize { get; init; }
    /// <summary>Mean requests per backend run so far.</summary>
    public double AverageBatchSize { get; init; }
}

/// <summary><c>POST /models/local/deploy</c>: the deployment accepted.</summary>
internal sealed record GatewayDeployAccepted
{
    public required string DeploymentId { get; init; }
    public required string Status { get; init; }
    public required string ModelId { get; init; }
    /// <summary>Not known before the model loads: left out.</summary>
    public string? EstimatedTime { get; init; }
    public required string ProgressUrl { get; init; }
    public required string Version { get; init; }
    public required string Device { get; init; }
    /// <summary>The settings of the request that ModelKit does not apply, each with the reason.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary><c>GET /models/local/deployments/{deployment_id}</c>: progress, stages and log.</summary>
internal sealed record GatewayDeploymentProgress
{
    public required string DeploymentId { get; init; }
    public required string ModelId { get; init; }
    public required string Status { get; init; }
    public int Progress { get; init; }
    public string? CurrentStage { get; init; }
    public required IReadOnlyList<GatewayStage> Stages { get; init; }
    public required IReadOnlyList<GatewayLogLine> Logs { get; init; }
    /// <summary>Not known: left out.</summary>
    public DateTimeOffset? EstimatedCompletion { get; init; }
    public required string Version { get; init; }
    public string? FailureReason { get; init; }
}

/// <summary>One bring-up stage.</summary>
internal sealed record GatewayStage
{
    public required string Name { get; init; }
    public required string Status { get; init; }
    /// <summary>As the seed writes it: <c>10s</c>; null until the stage starts.</summary>
    public string? Duration { get; init; }
    public double? DurationMs { get; init; }
    public string? Message { get; init; }
    /// <summary>Percent done, as the seed shows on its <c>downloading_weights</c> stage; null for stages that cannot tell.</summary>
    public double? Progress { get; init; }
}

/// <summary>One log line.</summary>
internal sealed record GatewayLogLine(DateTimeOffset Timestamp, string Level, string Message);

/// <summary><c>DELETE /models/local/{model_id}</c>: the model unloaded.</summary>
internal sealed record GatewayUnloaded
{
    public required string ModelId { get; init; }
    /// <summary><c>unloaded</c>: the answer comes once the deployment has drained and is gone.</summary>
    public required string Status { get; init; }
    public required IReadOnlyList<string> Nodes { get; init; }
    public required string DeploymentId { get; init; }
}
