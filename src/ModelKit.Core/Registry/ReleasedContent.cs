namespace ModelKit.Registry;

/// <summary>What a deletion released, passed to the callback of <see cref="IModelMetadataStore.DeleteAsync"/>.</summary>
/// <param name="ModelId">The model.</param>
/// <param name="Versions">The deleted versions.</param>
/// <param name="UnreferencedSha256">The content (sha256, hex) that no remaining version references.</param>
public sealed record ReleasedContent(string ModelId, IReadOnlyList<string> Versions, IReadOnlyList<string> UnreferencedSha256);
