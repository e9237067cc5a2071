namespace ModelKit.Registry;

/// <summary>A version being uploaded, as <see cref="IModelMetadataStore.ListUploadsAsync"/> reports it.</summary>
/// <param name="ModelId">The model.</param>
/// <param name="Version">The version.</param>
/// <param name="UploadToken">The token of the upload that reserved it; null for a version reserved before tokens were recorded.</param>
public sealed record PendingUpload(string ModelId, string Version, string? UploadToken);
