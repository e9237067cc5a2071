namespace ModelKit.Downloads;

/// <summary>
/// A Hugging Face-compatible hub (<see cref="HubOptions"/>): model search and information, file listings at a revision,
/// and file downloads by <c>/{repo}/resolve/{revision}/{path}</c> with <c>Range</c>.
/// </summary>
public interface IModelHub
{
    /// <summary>The hub's address.</summary>
    Uri Endpoint { get; }

    /// <summary>Models matching <paramref name="query"/> (<c>/api/models?search=…</c>). SOURCE_UNAVAILABLE when the hub cannot be reached.</summary>
    Task<HubModelPage> SearchAsync(HubSearchQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// A model's information at <paramref name="revision"/> (default <c>main</c>), with its files and their sizes and
    /// hashes. MODEL_NOT_FOUND when the hub has no such model or revision.
    /// </summary>
    Task<HubModelInfo> GetModelAsync(string repoId, string? revision = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Opens <paramref name="path"/> of <paramref name="repoId"/> at <paramref name="revision"/> from byte
    /// <paramref name="offset"/>, following the hub's redirects (the token goes to the hub only). MODEL_NOT_FOUND for an
    /// unknown file; transient failures as <see cref="HttpRequestException"/>.
    /// </summary>
    Task<ModelSourceContent> OpenFileAsync(string repoId, string revision, string path, long offset, CancellationToken cancellationToken = default);
}

/// <summary>A hub search (<c>/api/models</c>).</summary>
public sealed record HubSearchQuery
{
    /// <summary>Text the model id contains.</summary>
    public string? Search { get; init; }

    /// <summary>Only models of this author (organisation or user).</summary>
    public string? Author { get; init; }

    /// <summary>Only models with this tag (<c>onnx</c>, <c>text-generation</c> …).</summary>
    public string? Filter { get; init; }

    /// <summary>The order: <c>downloads</c> (default), <c>likes</c> or <c>lastModified</c>, most first.</summary>
    public string Sort { get; init; } = "downloads";

    /// <summary>Models to skip (0–999).</summary>
    public int Offset { get; init; }

    /// <summary>Models to return (1–100). Default 20.</summary>
    public int Limit { get; init; } = 20;
}

/// <summary>A page of hub models.</summary>
/// <param name="Items">The models.</param>
/// <param name="HasMore">Whether the hub has more after this page (the hub does not say how many in all).</param>
public sealed record HubModelPage(IReadOnlyList<HubModelInfo> Items, bool HasMore);

/// <summary>A hub model: what the hub's <c>/api/models</c> says of it. Counts the hub did not give are null.</summary>
public sealed record HubModelInfo
{
    /// <summary>The repository id (<c>org/name</c>).</summary>
    public required string Id { get; init; }

    /// <summary>The owner.</summary>
    public string? Author { get; init; }

    /// <summary>The commit of the revision asked for.</summary>
    public string? Sha { get; init; }

    /// <summary>Downloads the hub counted (its last 30 days).</summary>
    public long? Downloads { get; init; }

    /// <summary>Likes.</summary>
    public long? Likes { get; init; }

    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The pipeline tag (<c>feature-extraction</c>, <c>text-generation</c> …).</summary>
    public string? PipelineTag { get; init; }

    /// <summary>The library (<c>sentence-transformers</c>, <c>transformers</c>, <c>onnx</c> …).</summary>
    public string? LibraryName { get; init; }

    /// <summary>When it was created.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>When it last changed.</summary>
    public DateTimeOffset? LastModified { get; init; }

    /// <summary>Whether downloading needs the author's approval.</summary>
    public bool Gated { get; init; }

    /// <summary>Parameter count, when the hub reports it (from safetensors metadata).</summary>
    public long? Parameters { get; init; }

    /// <summary>Its files (only from <see cref="IModelHub.GetModelAsync"/>; empty in search results).</summary>
    public IReadOnlyList<HubFileInfo> Files { get; init; } = [];
}

/// <summary>A file of a hub model.</summary>
/// <param name="Path">Its path in the repository.</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Sha256">Its sha256 when stored with LFS.</param>
/// <param name="BlobId">Its git blob sha1.</param>
public sealed record HubFileInfo(string Path, long? Size, string? Sha256, string? BlobId);
