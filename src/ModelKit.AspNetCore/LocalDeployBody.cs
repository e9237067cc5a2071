namespace ModelKit.AspNetCore;

/// <summary>Seed 001's <c>POST /models/local/deploy</c> body (with ModelKit's <c>model_id</c>, <c>version</c> and <c>device</c>).</summary>
internal sealed record LocalDeployBody
{
    public string? ModelId { get; init; }
    public string? ModelType { get; init; }
    public string? ModelSize { get; init; }
    public string? Quantization { get; init; }
    public List<string>? TargetNodes { get; init; }
    public LocalDeploymentConfig? DeploymentConfig { get; init; }
    public string? Version { get; init; }
    public string? Device { get; init; }
}
