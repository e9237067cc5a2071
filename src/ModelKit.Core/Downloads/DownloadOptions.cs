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
}
