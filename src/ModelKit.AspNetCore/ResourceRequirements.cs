using System.Text.Json.Serialization;

namespace ModelKit.AspNetCore;

internal sealed record ResourceRequirements
{
    public string? Cpu { get; init; }
    public string? Memory { get; init; }

    [JsonPropertyName("nvidia.com/gpu")]
    public string? Gpu { get; init; }
}
