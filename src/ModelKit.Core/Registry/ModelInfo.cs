namespace ModelKit.Registry;

/// <summary>A registered model with its versions.</summary>
public sealed record ModelInfo
{
    /// <summary>The model id (unique, URL-safe; may have the Hugging Face form <c>org/name</c>).</summary>
    public required string Id { get; init; }
    /// <summary>The display name.</summary>
    public required string Name { get; init; }
    /// <summary>A free-text description.</summary>
    public string? Description { get; init; }
    /// <summary>The framework whose backend runs it (<c>onnx</c> …).</summary>
    public required string Framework { get; init; }
    /// <summary>The task or model type (<c>classification</c>, <c>embedding</c> …).</summary>
    public string? Task { get; init; }
    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Free key/value metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>Marked as a favourite.</summary>
    public bool Favorite { get; init; }
    /// <summary>The version used when a request names none; the newest ready one unless set.</summary>
    public string? DefaultVersion { get; init; }
    /// <summary>When the model was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When the model's metadata last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>The versions, oldest first.</summary>
    public IReadOnlyList<ModelVersionInfo> Versions { get; init; } = [];

    /// <summary>The status of the default version, or <see cref="ModelVersionStatus.Uploading"/> when there is none yet.</summary>
    public ModelVersionStatus Status => FindVersion(DefaultVersion)?.Status ?? ModelVersionStatus.Uploading;

    /// <summary>The version named <paramref name="version"/>, or the default one when null.</summary>
    public ModelVersionInfo? FindVersion(string? version)
    {
        version ??= DefaultVersion;
        foreach (var v in Versions) if (v.Version == version) return v;
        return null;
    }
}
