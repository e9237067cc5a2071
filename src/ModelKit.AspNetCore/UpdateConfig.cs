namespace ModelKit.AspNetCore;

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
