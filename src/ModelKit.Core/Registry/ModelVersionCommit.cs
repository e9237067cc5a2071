using ModelKit.Tensors;

namespace ModelKit.Registry;

/// <summary>A reserved version whose upload is complete: what <see cref="IModelMetadataStore.CompleteVersionAsync"/> records.</summary>
public sealed record ModelVersionCommit
{
    /// <summary>The model.</summary>
    public required string ModelId { get; init; }
    /// <summary>The reserved version.</summary>
    public required string Version { get; init; }
    /// <summary>The token the version was reserved with.</summary>
    public required string UploadToken { get; init; }
    /// <summary>The files, primary first (their <see cref="ModelArtifactFile.Path"/> is not stored).</summary>
    public required IReadOnlyList<ModelArtifactFile> Files { get; init; }
    /// <summary>Inputs and outputs as the backend reported them; null when no backend checked the files.</summary>
    public ModelSignature? Signature { get; init; }
    /// <summary>When the upload completed (the model's updated time).</summary>
    public DateTimeOffset CompletedAt { get; init; }
}
