using System.Text.Json.Nodes;

namespace ModelKit.AspNetCore;

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
