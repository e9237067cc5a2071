namespace ModelKit.Registry;

/// <summary>A stored artifact file.</summary>
public sealed record ModelArtifactFile
{
    /// <summary>
    /// The file's name as uploaded, relative to the version: <c>model.onnx</c>, <c>model.onnx.data</c>,
    /// <c>tokenizer/vocab.txt</c> ('/' separates subfolders).
    /// </summary>
    public required string Name { get; init; }
    /// <summary>Size in bytes.</summary>
    public long SizeBytes { get; init; }
    /// <summary>Hex sha256 of the content; also its address in the store.</summary>
    public required string Sha256 { get; init; }
    /// <summary>
    /// Where this process reads the file: the content-addressed blob itself for a version of one file, the file in
    /// the version's directory (beside its siblings at their relative names) for a version of several. Filled by the
    /// registry; empty in what an <see cref="IModelMetadataStore"/> returns.
    /// </summary>
    public string Path { get; init; } = string.Empty;
}
