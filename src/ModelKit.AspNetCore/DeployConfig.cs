namespace ModelKit.AspNetCore;

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
