namespace ModelKit.Downloads;

/// <summary>The download manager's settings (configuration section <c>ModelKit:Downloads</c>).</summary>
public sealed class DownloadOptions
{
    /// <summary>How many tasks transfer at once (1–32). Default 2.</summary>
    public int MaxConcurrentDownloads { get; set; } = 2;

    /// <summary>
    /// Retries of one file after a transient failure (a dropped connection, a timeout, a 5xx or 429 from the source),
    /// each resuming from the bytes already received, with exponential backoff and jitter (0–20). Default 5.
    /// </summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>The first retry's delay; later ones double (10 ms – 1 min). Default 1 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a transfer may go without receiving a byte (or the source without answering) before the attempt is
    /// abandoned and retried (1 s – 1 h). Default 30 s.
    /// </summary>
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often progress is published while downloading (50 ms – 1 min). Default 500 ms.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Free disk space that downloads leave untouched: a task is refused when what it still needs (the rest of its files,
    /// and their copy into the registry) would eat into it. Default 256 MiB.
    /// </summary>
    public long ReservedFreeBytes { get; set; } = 256L << 20;

    /// <summary>
    /// The directories the <c>file</c> source may read from (absolute paths). Empty (the default) turns the <c>file</c>
    /// source off, so that no client can make the server read its own files.
    /// </summary>
    public IList<string> LocalRoots { get; set; } = [];

    /// <summary>Whether the <c>url</c> source may fetch from loopback and private-network addresses. Default false.</summary>
    public bool AllowPrivateNetworkUrls { get; set; }

    /// <summary>Finished tasks (completed, failed, cancelled) kept in the list (10–100000). Default 1000; the oldest go first.</summary>
    public int MaxFinishedTasks { get; set; } = 1000;

    /// <summary>
    /// Models a deployment request may name without a source (seed 001's <c>model_type</c> + <c>model_size</c>, joined as
    /// <c>{type}-{size}</c>, or a model id), each with where to download it from. A deployment of a catalogue model the
    /// registry lacks downloads it first. Empty by default.
    /// </summary>
    public IDictionary<string, DownloadCatalogueEntry> Catalogue { get; set; } = new Dictionary<string, DownloadCatalogueEntry>(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Where a catalogue model (<see cref="DownloadOptions.Catalogue"/>) is downloaded from.</summary>
public sealed class DownloadCatalogueEntry
{
    /// <summary>The source: <c>huggingface</c> (default), <c>url</c> or <c>file</c>.</summary>
    public string Source { get; set; } = "huggingface";

    /// <summary>The hub repository (<c>org/name</c>) for <c>huggingface</c>.</summary>
    public string? Repository { get; set; }

    /// <summary>The hub revision; default <c>main</c>.</summary>
    public string? Revision { get; set; }

    /// <summary>The address for <c>url</c>.</summary>
    public Uri? Url { get; set; }

    /// <summary>The path for <c>file</c>.</summary>
    public string? Path { get; set; }

    /// <summary>The folder inside an archive.</summary>
    public string? PathInArchive { get; set; }

    /// <summary>Files to take (glob patterns); what the backend needs when empty.</summary>
    public IList<string> AllowPatterns { get; set; } = [];

    /// <summary>Files to leave out (glob patterns).</summary>
    public IList<string> IgnorePatterns { get; set; } = [];

    /// <summary>The task recorded with the model.</summary>
    public string? Task { get; set; }

    /// <summary>The request that downloads this entry as <paramref name="modelId"/>.</summary>
    public DownloadRequest ToRequest(string modelId) => new()
    {
        Source = Source,
        ModelId = Repository ?? modelId,
        Revision = Revision,
        Url = Url,
        Path = Path,
        PathInArchive = PathInArchive,
        AllowPatterns = [.. AllowPatterns],
        IgnorePatterns = [.. IgnorePatterns],
        RegisterAs = modelId,
        Task = Task,
    };
}
