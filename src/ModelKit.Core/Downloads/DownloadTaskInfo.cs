namespace ModelKit.Downloads;

/// <summary>A download task as it stands: what it fetches, how far it is, and what it became.</summary>
public sealed record DownloadTaskInfo
{
    /// <summary>The task's id (<c>dl_…</c>).</summary>
    public required string Id { get; init; }

    /// <summary>What was asked for.</summary>
    public required DownloadRequest Request { get; init; }

    /// <summary>Where it stands.</summary>
    public required DownloadStatus Status { get; init; }

    /// <summary>The revision the files come from, pinned when the task was created (a hub commit, a URL's ETag).</summary>
    public string? Revision { get; init; }

    /// <summary>The files, in the order they are fetched.</summary>
    public required IReadOnlyList<DownloadFileInfo> Files { get; init; }

    /// <summary>Bytes received so far, over all files.</summary>
    public long BytesDownloaded { get; init; }

    /// <summary>Bytes in all, when every file's size is known; null otherwise.</summary>
    public long? BytesTotal { get; init; }

    /// <summary>Percent done (0–100), from the bytes when the total is known, else 0 until completed.</summary>
    public double Percent => Status == DownloadStatus.Completed ? 100 : BytesTotal is > 0 and { } total ? Math.Min(100, Math.Round(100.0 * BytesDownloaded / total, 1)) : 0;

    /// <summary>Bytes a second over the last few seconds while downloading; 0 otherwise.</summary>
    public double BytesPerSecond { get; init; }

    /// <summary>The time left at the current speed, while downloading with a known total; null otherwise.</summary>
    public TimeSpan? EstimatedTimeLeft { get; init; }

    /// <summary>Why the task failed (when <see cref="Status"/> is <see cref="DownloadStatus.Failed"/>).</summary>
    public DownloadFailure? Error { get; init; }

    /// <summary>The registry id the files were (or will be) registered under.</summary>
    public required string TargetModelId { get; init; }

    /// <summary>The registered version, once completed.</summary>
    public string? RegisteredVersion { get; init; }

    /// <summary>When the task was created.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it last changed state.</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When its transfer first started.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    /// <summary>When it completed, failed or was cancelled.</summary>
    public DateTimeOffset? FinishedAt { get; init; }
}

/// <summary>One file of a download task.</summary>
/// <param name="Name">Its name relative to the model version (<c>onnx/model.onnx</c>, <c>vocab.txt</c>).</param>
/// <param name="Size">Its size in bytes, when the source said.</param>
/// <param name="BytesDownloaded">Bytes received so far.</param>
/// <param name="Sha256">The sha256 the source published (hub LFS files), checked on arrival; null when it published none.</param>
/// <param name="Verified">Whether it arrived whole and matched the source's hash (or size, when the source gave no hash).</param>
public sealed record DownloadFileInfo(string Name, long? Size, long BytesDownloaded, string? Sha256, bool Verified);

/// <summary>Why a task failed: one of <see cref="ModelKitErrorCodes"/> and a message that names no server path.</summary>
/// <param name="Code">The error code (SOURCE_UNAVAILABLE, INTEGRITY_CHECK_FAILED, INSUFFICIENT_STORAGE …).</param>
/// <param name="Message">What went wrong.</param>
public sealed record DownloadFailure(string Code, string Message);
