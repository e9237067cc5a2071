namespace ModelKit.Registry;

/// <summary>A partial update of a model's metadata; null fields are left as they are.</summary>
public sealed record ModelUpdate
{
    /// <summary>New display name.</summary>
    public string? Name { get; init; }
    /// <summary>New description.</summary>
    public string? Description { get; init; }
    /// <summary>New task.</summary>
    public string? Task { get; init; }
    /// <summary>New tags (replaces all).</summary>
    public IReadOnlyList<string>? Tags { get; init; }
    /// <summary>New metadata (replaces all).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }
    /// <summary>Favourite flag.</summary>
    public bool? Favorite { get; init; }
    /// <summary>New default version (must exist and be ready).</summary>
    public string? DefaultVersion { get; init; }
}
