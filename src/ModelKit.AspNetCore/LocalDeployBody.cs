namespace ModelKit.AspNetCore;

internal sealed record LocalDeployBody
{
    public string? ModelId { get; init; }
    public string? ModelType { get; init; }
    public string? ModelSize { get; init; }
    public string? Quantization { get; init; }
    public List<string>? TargetNodes { get; init; }
    public LocalDeploymentConfig? DeploymentConfig { get; init; }
}
