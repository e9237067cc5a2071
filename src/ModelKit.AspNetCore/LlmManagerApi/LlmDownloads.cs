using System.Globalization;
using ModelKit.Downloads;

namespace ModelKit.AspNetCore;

/// <summary>
/// <c>POST /api/downloads/start</c>'s body: the seed's <c>model_id</c> and <c>source</c>, and ModelKit's additions for the
/// hub revision, a URL or local path, an archive's inner path, file patterns, and how to register the result.
/// </summary>
internal sealed record LlmDownloadBody
{
    public string? ModelId { get; init; }
    public string? Source { get; init; }
    public string? Revision { get; init; }
    public string? Url { get; init; }
    public string? Path { get; init; }
    public string? PathInArchive { get; init; }
    public IReadOnlyList<string>? AllowPatterns { get; init; }
    public IReadOnlyList<string>? IgnorePatterns { get; init; }
    public string? RegisterAs { get; init; }
    public string? Version { get; init; }
    public string? ModelType { get; init; }
}

/// <summary>
/// A download task as seed 004 shows it: the seed's fields (<c>progress</c> in percent, sizes and speed as text such as
/// <c>"500MB"</c> and <c>"10MB/s"</c>, <c>eta</c> as <c>hh:mm:ss</c>) and the same numbers in bytes and seconds, the files,
/// and what the task became.
/// </summary>
internal sealed record LlmDownloadTask
{
    public required string Id { get; init; }
    public required string ModelId { get; init; }
    public required string Source { get; init; }
    /// <summary>pending, downloading, paused, completed, failed or cancelled (the seed's task states).</summary>
    public required string Status { get; init; }
    /// <summary><c>registering</c> while a downloaded model is being registered (its status is still <c>downloading</c>).</summary>
    public string? Stage { get; init; }
    public double Progress { get; init; }
    public required string DownloadedSize { get; init; }
    /// <summary>Null while a file's size is unknown (a URL whose server did not say).</summary>
    public string? TotalSize { get; init; }
    public required string Speed { get; init; }
    /// <summary><c>hh:mm:ss</c> while downloading with a known total, <c>00:00:00</c> once completed; null otherwise.</summary>
    public string? Eta { get; init; }
    public long DownloadedBytes { get; init; }
    public long? TotalBytes { get; init; }
    public double SpeedBytesPerSecond { get; init; }
    public double? EtaSeconds { get; init; }
    public string? Revision { get; init; }
    public required IReadOnlyList<LlmDownloadFile> Files { get; init; }
    public string? ErrorCode { get; init; }
    public string? ErrorMessage { get; init; }
    /// <summary>The registry id the files are registered under (<c>register_as</c>, else <c>model_id</c>).</summary>
    public required string RegisteredModelId { get; init; }
    public string? RegisteredVersion { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }

    public static LlmDownloadTask Of(DownloadTaskInfo task) => new()
    {
        Id = task.Id,
        ModelId = task.Request.ModelId,
        Source = task.Request.Source.ToLowerInvariant(),
        Status = StatusName(task.Status),
        Stage = task.Status == DownloadStatus.Registering ? "registering" : null,
        Progress = task.Status == DownloadStatus.Registering ? 100 : task.Percent,
        DownloadedSize = Size(task.BytesDownloaded),
        TotalSize = task.BytesTotal is { } total ? Size(total) : null,
        Speed = Size((long)task.BytesPerSecond) + "/s",
        Eta = task.Status == DownloadStatus.Completed ? "00:00:00"
            : task.EstimatedTimeLeft is { } eta ? ((int)eta.TotalHours).ToString("00", CultureInfo.InvariantCulture) + eta.ToString(@"\:mm\:ss", CultureInfo.InvariantCulture) : null,
        DownloadedBytes = task.BytesDownloaded,
        TotalBytes = task.BytesTotal,
        SpeedBytesPerSecond = task.BytesPerSecond,
        EtaSeconds = task.Status == DownloadStatus.Completed ? 0 : task.EstimatedTimeLeft?.TotalSeconds,
        Revision = task.Revision,
        Files = [.. task.Files.Select(f => new LlmDownloadFile(f.Name, f.Size, f.BytesDownloaded, f.Sha256, f.Verified))],
        ErrorCode = task.Error?.Code,
        ErrorMessage = task.Error?.Message,
        RegisteredModelId = task.TargetModelId,
        RegisteredVersion = task.RegisteredVersion,
        CreatedAt = task.CreatedAt,
        UpdatedAt = task.UpdatedAt,
        StartedAt = task.StartedAt,
        CompletedAt = task.FinishedAt,
    };

    /// <summary>The seed's name of a task state: <c>registering</c> reads as <c>downloading</c> (with <see cref="Stage"/> saying so).</summary>
    public static string StatusName(DownloadStatus status) => status switch
    {
        DownloadStatus.Pending => "pending",
        DownloadStatus.Downloading or DownloadStatus.Registering => "downloading",
        DownloadStatus.Paused => "paused",
        DownloadStatus.Completed => "completed",
        DownloadStatus.Failed => "failed",
        _ => "cancelled",
    };

    /// <summary>The states a <c>status</c> filter names; INVALID_INPUT listing the names for any other.</summary>
    public static DownloadStatus[] StatesNamed(string status) => status.ToLowerInvariant() switch
    {
        "pending" => [DownloadStatus.Pending],
        "downloading" => [DownloadStatus.Downloading, DownloadStatus.Registering],
        "paused" => [DownloadStatus.Paused],
        "completed" => [DownloadStatus.Completed],
        "failed" => [DownloadStatus.Failed],
        "cancelled" => [DownloadStatus.Cancelled],
        _ => throw new InvalidInputException(
            $"'status' must be pending, downloading, paused, completed, failed or cancelled (was '{ClientText.Quote(status, 32)}')."),
    };

    /// <summary>Bytes as the seed writes them: <c>500MB</c>, <c>1.1GB</c> (decimal units, at most one decimal).</summary>
    public static string Size(long bytes) => bytes switch
    {
        >= 1_000_000_000 => (bytes / 1e9).ToString("0.#", CultureInfo.InvariantCulture) + "GB",
        >= 1_000_000 => (bytes / 1e6).ToString("0.#", CultureInfo.InvariantCulture) + "MB",
        >= 1_000 => (bytes / 1e3).ToString("0.#", CultureInfo.InvariantCulture) + "KB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + "B",
    };
}

/// <summary>One file of a download task.</summary>
internal sealed record LlmDownloadFile(string Name, long? Size, long DownloadedBytes, string? Sha256, bool Verified);

/// <summary><c>POST /api/downloads/start</c>'s data: the task and a message, as the seed shows.</summary>
internal sealed record LlmDownloadStarted(LlmDownloadTask Task, string Message);

/// <summary><c>GET /api/downloads/list</c>'s data: a page of tasks, newest first.</summary>
internal sealed record LlmDownloadList(IReadOnlyList<LlmDownloadTask> Items, LlmPagination Pagination);

/// <summary><c>GET /api/downloads/queue</c>'s data.</summary>
internal sealed record LlmDownloadQueue(
    int MaxConcurrentDownloads, int ActiveCount, int PendingCount, int PausedCount, string TotalSpeed, double TotalSpeedBytesPerSecond,
    IReadOnlyList<LlmDownloadTask> Active, IReadOnlyList<LlmDownloadTask> Pending);

/// <summary><c>DELETE /api/downloads/{task_id}</c>'s data.</summary>
internal sealed record LlmDownloadDeleted(string Id, bool Deleted);

/// <summary><c>POST /api/ws/ticket</c>'s data: a one-time ticket for a browser's WebSocket (<c>?ticket=…</c>).</summary>
internal sealed record LlmSocketTicket(string Ticket, DateTimeOffset ExpiresAt, int ExpiresIn);
