using ModelKit.Tensors;

namespace ModelKit.Registry;

/// <summary>The lifecycle of a model version's artifact.</summary>
public enum ModelVersionStatus
{
    /// <summary>The artifact is being received and checked.</summary>
    Uploading,
    /// <summary>The artifact is stored and was loaded successfully by its backend.</summary>
    Ready,
    /// <summary>The artifact could not be used.</summary>
    Failed,
}

/// <summary>A registered model with its versions.</summary>
public sealed record ModelInfo
{
    /// <summary>The model id (unique, URL-safe; may have the Hugging Face form <c>org/name</c>).</summary>
    public required string Id { get; init; }
    /// <summary>The display name.</summary>
    public required string Name { get; init; }
    /// <summary>A free-text description.</summary>
    public string? Description { get; init; }
    /// <summary>The framework whose backend runs it (<c>onnx</c> …).</summary>
    public required string Framework { get; init; }
    /// <summary>The task or model type (<c>classification</c>, <c>embedding</c> …).</summary>
    public string? Task { get; init; }
    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Free key/value metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
    /// <summary>Marked as a favourite.</summary>
    public bool Favorite { get; init; }
    /// <summary>The version used when a request names none; the newest ready one unless set.</summary>
    public string? DefaultVersion { get; init; }
    /// <summary>When the model was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When the model's metadata last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>The versions, oldest first.</summary>
    public IReadOnlyList<ModelVersionInfo> Versions { get; init; } = [];

    /// <summary>The status of the default version, or <see cref="ModelVersionStatus.Uploading"/> when there is none yet.</summary>
    public ModelVersionStatus Status => FindVersion(DefaultVersion)?.Status ?? ModelVersionStatus.Uploading;

    /// <summary>The version named <paramref name="version"/>, or the default one when null.</summary>
    public ModelVersionInfo? FindVersion(string? version)
    {
        version ??= DefaultVersion;
        foreach (var v in Versions) if (v.Version == version) return v;
        return null;
    }
}

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

/// <summary>What to create: a model's metadata.</summary>
public sealed record ModelDefinition
{
    /// <summary>The id; derived from <see cref="Name"/> when null.</summary>
    public string? Id { get; init; }
    /// <summary>The display name (required).</summary>
    public required string Name { get; init; }
    /// <summary>A description.</summary>
    public string? Description { get; init; }
    /// <summary>The framework. Default: <c>onnx</c>.</summary>
    public string Framework { get; init; } = "onnx";
    /// <summary>The task or model type.</summary>
    public string? Task { get; init; }
    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];
    /// <summary>Free key/value metadata.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();
}

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

/// <summary>Filters and paging for <see cref="IModelRegistry.ListModelsAsync"/>.</summary>
public sealed record ModelQuery
{
    /// <summary>Only this framework.</summary>
    public string? Framework { get; init; }
    /// <summary>Only this task / model type.</summary>
    public string? Task { get; init; }
    /// <summary>Only models whose default version has this status.</summary>
    public ModelVersionStatus? Status { get; init; }
    /// <summary>Text searched in id, name, description and tags (case-insensitive).</summary>
    public string? Text { get; init; }
    /// <summary>Only favourites (true) or non-favourites (false).</summary>
    public bool? Favorite { get; init; }
    /// <summary>Items to skip. Default: 0.</summary>
    public int Offset { get; init; }
    /// <summary>Items to return, 1..1000. Default: 20.</summary>
    public int Limit { get; init; } = 20;
}

/// <summary>One page of models.</summary>
public sealed record ModelPage(IReadOnlyList<ModelInfo> Items, int Total, int Offset, int Limit);

/// <summary>Counts over the whole registry (<see cref="ModelRegistryExtensions.GetStatisticsAsync"/>).</summary>
public sealed record ModelRegistryStatistics
{
    /// <summary>The key under which models without a task are counted.</summary>
    public const string NoTask = "unspecified";
    /// <summary>Registered models.</summary>
    public int Models { get; init; }
    /// <summary>Versions of all models.</summary>
    public int Versions { get; init; }
    /// <summary>Bytes of all versions' artifacts.</summary>
    public long TotalBytes { get; init; }
    /// <summary>Models marked favourite.</summary>
    public int Favorites { get; init; }
    /// <summary>Models by the status of their default version.</summary>
    public IReadOnlyDictionary<ModelVersionStatus, int> ByStatus { get; init; } = new Dictionary<ModelVersionStatus, int>();
    /// <summary>Models by framework, ordered by name.</summary>
    public IReadOnlyDictionary<string, int> ByFramework { get; init; } = new Dictionary<string, int>();
    /// <summary>Models by task (<see cref="NoTask"/> when they have none), ordered by name.</summary>
    public IReadOnlyDictionary<string, int> ByTask { get; init; } = new Dictionary<string, int>();
}
