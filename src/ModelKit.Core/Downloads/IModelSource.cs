namespace ModelKit.Downloads;

/// <summary>
/// Where models come from: plans a download (which files, their sizes and hashes, the pinned revision) and opens a file
/// from an offset. ModelKit has <c>huggingface</c>, <c>url</c> and <c>file</c>; a host adds its own by registering an
/// <see cref="IModelSource"/> with a new <see cref="Name"/>.
/// </summary>
public interface IModelSource
{
    /// <summary>The name requests use (<see cref="DownloadRequest.Source"/>), compared ignoring case.</summary>
    string Name { get; }

    /// <summary>
    /// The files to fetch for <paramref name="request"/>. MODEL_NOT_FOUND when the source has no such model, revision or
    /// file; SOURCE_UNAVAILABLE when it cannot be reached; INVALID_INPUT when the request does not fit the source.
    /// </summary>
    Task<ModelSourcePlan> PlanAsync(DownloadRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens <paramref name="file"/> of <paramref name="plan"/> from <paramref name="offset"/>. A source that cannot start
    /// there answers from 0 (<see cref="ModelSourceContent.Offset"/> says which). Transient failures are thrown as
    /// <see cref="HttpRequestException"/>, <see cref="IOException"/> or <see cref="TimeoutException"/> (retried);
    /// anything else fails the task.
    /// </summary>
    Task<ModelSourceContent> OpenAsync(ModelSourcePlan plan, ModelSourceFile file, long offset, CancellationToken cancellationToken = default);
}

/// <summary>What a download fetches: the files, the revision they come from, and what the source says of the model.</summary>
public sealed record ModelSourcePlan
{
    /// <summary>The revision, pinned (a hub commit sha, a URL's ETag, a file's modification time).</summary>
    public required string Revision { get; init; }

    /// <summary>Where the source finds the model (a hub repository, an address, a directory): the source's own key.</summary>
    public required string Location { get; init; }

    /// <summary>The files to fetch, under the names they will have in the model version.</summary>
    public required IReadOnlyList<ModelSourceFile> Files { get; init; }

    /// <summary>The file the backend loads (a name in <see cref="Files"/>, or inside the archive); the first ONNX file when null.</summary>
    public string? PrimaryFile { get; init; }

    /// <summary>When the one file is an archive: the folder (or file) inside it that holds the model; "" for its root.</summary>
    public string? PathInArchive { get; init; }

    /// <summary>The model's task as the source names it (a hub pipeline tag such as <c>feature-extraction</c>).</summary>
    public string? Task { get; init; }

    /// <summary>Tags the source gives the model.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
}

/// <summary>One file to fetch.</summary>
/// <param name="Name">Its name in the model version (relative, '/' between folders).</param>
/// <param name="Location">Where the source finds it (a path in the repository, an address); the source's own key.</param>
/// <param name="Size">Its size, when known.</param>
/// <param name="Sha256">Its sha256 (lower-case hex), when the source publishes one.</param>
/// <param name="GitBlobSha1">Its git blob sha1 (a hub's ETag for files outside LFS), when published.</param>
public sealed record ModelSourceFile(string Name, string Location, long? Size, string? Sha256 = null, string? GitBlobSha1 = null);

/// <summary>An opened file: its bytes from <see cref="Offset"/> on. Disposing it closes the connection.</summary>
public sealed class ModelSourceContent : IAsyncDisposable
{
    private readonly IDisposable? _owner;

    /// <summary>Wraps <paramref name="content"/>, which starts at byte <paramref name="offset"/> of a file of <paramref name="totalLength"/> bytes.</summary>
    public ModelSourceContent(Stream content, long offset, long? totalLength, IDisposable? owner = null)
    {
        ArgumentNullException.ThrowIfNull(content);
        Content = content;
        Offset = offset;
        TotalLength = totalLength;
        _owner = owner;
    }

    /// <summary>The bytes.</summary>
    public Stream Content { get; }

    /// <summary>Where in the file <see cref="Content"/> starts: the offset asked for, or 0 when the source ignored it.</summary>
    public long Offset { get; }

    /// <summary>The file's whole length, when the source said.</summary>
    public long? TotalLength { get; }

    /// <summary>
    /// The hash the source sent with the file, unquoted (a hub's <c>X-Linked-Etag</c> — the sha256 of an LFS file — or its
    /// <c>ETag</c>, the git blob sha1 of another file); null when it sent none. Checked against the plan's hash.
    /// </summary>
    public string? EntityTag { get; init; }

    /// <summary>The revision the source says it served (a hub's <c>X-Repo-Commit</c>); null when it did not say.</summary>
    public string? Revision { get; init; }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync().ConfigureAwait(false);
        _owner?.Dispose();
    }
}
