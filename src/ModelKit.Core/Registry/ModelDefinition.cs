namespace ModelKit.Registry;

/// <summary>What to create: a model's metadata.</summary>
public sealed record ModelDefinition
{
    /// <summary>The id; derived from <see cref="Name"/> when null.</summary>
    public string? Id { get; init; }
    /// <summary>The display name (required).</summary>
    public required string Name { get; init; }
    /// <summary>A description.</summary>
    public string? Description { get; init; }
    /// <summary>The framework. Default: <c>onnx</c>.</summary>
    public string Framework { get; init; } = "onnx";
    /// <summary>The task or model type.</summary>
    public string? Task { get; init; }
    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Free key/value metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}
