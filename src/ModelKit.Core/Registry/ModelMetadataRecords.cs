using ModelKit.Tensors;

namespace ModelKit.Registry;

/// <summary>What <see cref="IModelMetadataStore.UpdateModelAsync"/> did.</summary>
public enum ModelUpdateResult
{
    /// <summary>The update was applied.</summary>
    Updated,
    /// <summary>The model does not exist; nothing was applied.</summary>
    ModelNotFound,
    /// <summary>The new default version is missing or not ready; nothing was applied.</summary>
    DefaultVersionNotReady,
}

/// <summary>A version being uploaded, as <see cref="IModelMetadataStore.ListUploadsAsync"/> reports it.</summary>
/// <param name="ModelId">The model.</param>
/// <param name="Version">The version.</param>
/// <param name="UploadToken">The token of the upload that reserved it; null for a version reserved before tokens were recorded.</param>
public sealed record PendingUpload(string ModelId, string Version, string? UploadToken);

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

/// <summary>What a deletion released, passed to the callback of <see cref="IModelMetadataStore.DeleteAsync"/>.</summary>
/// <param name="ModelId">The model.</param>
/// <param name="Versions">The deleted versions.</param>
/// <param name="UnreferencedSha256">The content (sha256, hex) that no remaining version references.</param>
public sealed record ReleasedContent(string ModelId, IReadOnlyList<string> Versions, IReadOnlyList<string> UnreferencedSha256);
