using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

// Request and response bodies in the seeds' shapes (snake_case on the wire).

internal sealed record InferenceBody
{
    public string? ModelId { get; init; }
    public string? ModelName { get; init; }
    public string? Version { get; init; }
    public System.Text.Json.JsonElement? InputData { get; init; }
    public JsonObject? Parameters { get; init; }
    public double? Timeout { get; init; }
    public string? Priority { get; init; }

    // Seed 003's names: data (= input_data), options (= parameters), task (checked against the model's), engine.
    public System.Text.Json.JsonElement? Data { get; init; }
    public JsonObject? Options { get; init; }
    public string? Task { get; init; }
    public string? Engine { get; init; }
}

internal sealed record BatchInferenceBody
{
    public List<InferenceBody>? Requests { get; init; }
    public double? Timeout { get; init; }
    public string? Priority { get; init; }

    /// <summary>Seed 003: false runs the items one after another, in order; true or left out lets them batch together.</summary>
    public bool? Parallel { get; init; }
}

internal sealed record InferenceResponse
{
    public required string RequestId { get; init; }
    public required string ModelId { get; init; }
    public required string Version { get; init; }
    public required Dictionary<string, TensorPayload> OutputData { get; init; }
    public double ProcessingTime { get; init; }
    public DateTimeOffset Timestamp { get; init; }
}

internal sealed record ErrorBody(string Code, string Message);

// The times and version are always present (null until known); result, error and status_url only when they apply.
internal sealed record JobResponse
{
    public required string JobId { get; init; }
    public required string Status { get; init; }
    public required string ModelId { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Version { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public DateTimeOffset? StartedAt { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public DateTimeOffset? CompletedAt { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public DateTimeOffset? ExpiresAt { get; init; }
    public InferenceResponse? Result { get; init; }
    public ErrorBody? Error { get; init; }
    public required string RequestId { get; init; }
    public string? StatusUrl { get; init; }
}

internal sealed record BatchItemResponse
{
    public int Index { get; init; }
    public bool Success { get; init; }
    public InferenceResponse? Result { get; init; }
    public ErrorBody? Error { get; init; }
}

internal sealed record BatchSummary(int Total, int Succeeded, int Failed, double ProcessingTime);

internal sealed record DeployBody
{
    public DeployConfig? Config { get; init; }
}

internal sealed record DeployConfig
{
    public string? DeploymentId { get; init; }
    public string? ModelId { get; init; }
    public string? Name { get; init; }
    public string? Version { get; init; }
    public string? ModelType { get; init; }
    public string? Framework { get; init; }
    public string? DockerImage { get; init; }
    public string? Device { get; init; }
    public string? Priority { get; init; }
    public ResourceRequirements? ResourceRequirements { get; init; }
    public ScalingConfig? ScalingConfig { get; init; }
    public BatchingConfig? Batching { get; init; }
    public Dictionary<string, string>? EnvironmentVariables { get; init; }
}

internal sealed record ResourceRequirements
{
    public string? Cpu { get; init; }
    public string? Memory { get; init; }

    [JsonPropertyName("nvidia.com/gpu")]
    public string? Gpu { get; init; }
}

internal sealed record ScalingConfig
{
    public int? Replicas { get; init; }
    public int? MinReplicas { get; init; }
    public int? MaxReplicas { get; init; }
    public int? TargetCpuUtilization { get; init; }
    public int? TargetQueueDepth { get; init; }
}

internal sealed record BatchingConfig
{
    public int? MaxBatchSize { get; init; }
    public double? MaxQueueDelayMs { get; init; }
    public int? MaxQueueSize { get; init; }

    /// <summary>These settings over <paramref name="basis"/> (the library defaults when null); fields left out keep the basis's value.</summary>
    public BatchingOptions ToOptions(BatchingOptions? basis = null)
    {
        basis ??= new BatchingOptions();
        return basis with
        {
            MaxBatchSize = MaxBatchSize ?? basis.MaxBatchSize,
            MaxQueueDelay = MaxQueueDelayMs is { } ms ? TimeSpan.FromMilliseconds(ms) : basis.MaxQueueDelay,
            MaxQueueSize = MaxQueueSize ?? basis.MaxQueueSize,
        };
    }
}

internal sealed record ScaleBody
{
    public int? Replicas { get; init; }
}

internal static class Parse
{
    public static RequestPriority? Priority(string? text) => text?.ToUpperInvariant() switch
    {
        null => null,
        "HIGH" => RequestPriority.High,
        "NORMAL" => RequestPriority.Normal,
        "LOW" => RequestPriority.Low,
        _ => throw new InvalidInputException($"'priority' must be low, normal or high (was '{text}')."),
    };

    /// <summary>Seed 003's <c>engine</c>: ModelKit runs ONNX Runtime, so only that engine (or none) is accepted.</summary>
    public static void Engine(string? engine)
    {
        if (engine is null || engine.Equals("onnx", StringComparison.OrdinalIgnoreCase) || engine.Equals("onnxruntime", StringComparison.OrdinalIgnoreCase)) return;
        throw new InvalidInputException($"'engine' '{engine}' is not served here; ModelKit runs models with 'onnxruntime' (or leave 'engine' out).");
    }

    public static TimeSpan? Timeout(double? seconds) => seconds switch
    {
        null => null,
        <= 0 or > 3600 or double.NaN => throw new InvalidInputException($"'timeout' must be between 0 and 3600 seconds (was {seconds.Value.ToString(CultureInfo.InvariantCulture)})."),
        _ => TimeSpan.FromSeconds(seconds.Value),
    };
}

internal sealed record CreateModelBody
{
    public string? ModelId { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? Framework { get; init; }
    public string? ModelType { get; init; }
    public List<string>? Tags { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public JsonNode? WorkspaceId { get; init; }
}

internal sealed record UpdateModelBody
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? ModelType { get; init; }
    public List<string>? Tags { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public bool? Favorite { get; init; }
    public string? DefaultVersion { get; init; }
    public UpdateConfig? Config { get; init; }
}

internal sealed record UpdateConfig
{
    public string? Version { get; init; }
    public string? Device { get; init; }
    public string? DockerImage { get; init; }
    public string? Priority { get; init; }
    public ResourceRequirements? ResourceRequirements { get; init; }
    public ScalingConfig? ScalingConfig { get; init; }
    public BatchingConfig? Batching { get; init; }
    public Dictionary<string, string>? EnvironmentVariables { get; init; }
}

internal sealed record CacheConfigBody
{
    public int? MaxCacheSize { get; init; }
    public double? MaxMemoryGb { get; init; }
    public long? MemoryLimitBytes { get; init; }
}

internal sealed record PreloadBody
{
    public string? ModelId { get; init; }
    public string? ModelName { get; init; }
    public string? Version { get; init; }
    public List<string>? Models { get; init; }
}

internal sealed record StartDeploymentBody
{
    public string? DeploymentId { get; init; }
    public string? ModelId { get; init; }
    public string? Version { get; init; }
    public string? ModelSource { get; init; }
    public string? Device { get; init; }
    public int? Replicas { get; init; }
    public int? MinReplicas { get; init; }
    public int? MaxReplicas { get; init; }
    public string? Memory { get; init; }
    public string? Priority { get; init; }
    public BatchingConfig? Batching { get; init; }
    public JsonNode? Port { get; init; }
    public JsonNode? GpuMemoryUtilization { get; init; }
    public JsonNode? MaxModelLen { get; init; }
}

internal sealed record LocalDeployBody
{
    public string? ModelId { get; init; }
    public string? ModelType { get; init; }
    public string? ModelSize { get; init; }
    public string? Quantization { get; init; }
    public List<string>? TargetNodes { get; init; }
    public LocalDeploymentConfig? DeploymentConfig { get; init; }
}

internal sealed record LocalDeploymentConfig
{
    public int? MaxBatchSize { get; init; }
    public bool? UseFlashAttention { get; init; }
    public bool? UseKvCache { get; init; }
    public int? TensorParallelSize { get; init; }
    public bool? CpuOffload { get; init; }
}
