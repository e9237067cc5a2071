using ModelKit.Tensors;

namespace ModelKit.Registry;

/// <summary>One version of a model and its artifact files.</summary>
public sealed record ModelVersionInfo
{
    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }
    /// <summary>The version label (<c>1</c>, <c>2</c>, <c>2024-06</c> …).</summary>
    public required string Version { get; init; }
    /// <summary>The status.</summary>
    public ModelVersionStatus Status { get; init; }
    /// <summary>The total size of the files in bytes.</summary>
    public long SizeBytes { get; init; }
    /// <summary>The primary file's sha256 (hex).</summary>
    public string? Sha256 { get; init; }
    /// <summary>Why the version failed, when it did.</summary>
    public string? Error { get; init; }
    /// <summary>When the version was registered.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>Inputs and outputs as the backend reported them; null when no backend checked the file.</summary>
    public ModelSignature? Signature { get; init; }
    /// <summary>
    /// The artifact files. The first is the primary file, the one the backend loads: load
    /// <c>Files[0].Path</c>, and the other files sit beside it at their relative names.
    /// </summary>
    public IReadOnlyList<ModelArtifactFile> Files { get; init; } = [];
}
