using System.Text.Json.Serialization;

namespace ModelKit.AspNetCore;

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
