namespace ModelKit.Downloads;

/// <summary>
/// What to download and how to register it. <see cref="Source"/> names an <see cref="IModelSource"/>: <c>huggingface</c>
/// (a Hugging Face-compatible hub; <see cref="ModelId"/> is the repository, <see cref="Revision"/> a branch, tag or commit),
/// <c>url</c> (one HTTP(S) file, or an archive with <see cref="PathInArchive"/>) or <c>file</c> (a directory or file under
/// one of <see cref="DownloadOptions.LocalRoots"/>).
/// </summary>
public sealed record DownloadRequest
{
    /// <summary>The source's name: <c>huggingface</c>, <c>url</c>, <c>file</c>, or one a host added.</summary>
    public required string Source { get; init; }

    /// <summary>The model: the hub repository (<c>sentence-transformers/all-MiniLM-L6-v2</c>); for other sources the id to register under.</summary>
    public required string ModelId { get; init; }

    /// <summary>The hub revision (branch, tag or commit); default <c>main</c>. Pinned to a commit when the task is created.</summary>
    public string? Revision { get; init; }

    /// <summary>The file's address for the <c>url</c> source (http or https).</summary>
    public Uri? Url { get; init; }

    /// <summary>The local path for the <c>file</c> source: a directory (its files) or one file.</summary>
    public string? Path { get; init; }

    /// <summary>
    /// For an archive (<c>.zip</c>, <c>.tar</c>, <c>.tar.gz</c>, <c>.tgz</c>): the folder (or file) inside it whose files form
    /// the model; the archive's root when empty.
    /// </summary>
    public string? PathInArchive { get; init; }

    /// <summary>
    /// Glob patterns (<c>*.onnx</c>, <c>onnx/**</c>) of the files to take, as the hub clients' <c>allow_patterns</c>; when
    /// empty, what the ONNX backend needs: one ONNX model with its external data, and the tokenizer and configuration files.
    /// </summary>
    public IReadOnlyList<string> AllowPatterns { get; init; } = [];

    /// <summary>Glob patterns of files to leave out, applied after <see cref="AllowPatterns"/>.</summary>
    public IReadOnlyList<string> IgnorePatterns { get; init; } = [];

    /// <summary>The registry id to register the model under; default <see cref="ModelId"/>.</summary>
    public string? RegisterAs { get; init; }

    /// <summary>The version label in the registry; the next number when null.</summary>
    public string? Version { get; init; }

    /// <summary>The task recorded with the model (<c>embedding</c>, <c>text-generation</c> …); from the hub's pipeline tag when null.</summary>
    public string? Task { get; init; }
}
