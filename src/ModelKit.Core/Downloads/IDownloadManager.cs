namespace ModelKit.Downloads;

/// <summary>
/// Downloads models from their sources into the registry: a persistent queue (tasks survive a restart and resume where
/// they stopped), a concurrency limit, progress, pause and resume by HTTP <c>Range</c>, cancel, retries with backoff,
/// integrity checks against the source's hashes, and hand-over to the registry's ingest pipeline.
/// </summary>
public interface IDownloadManager
{
    /// <summary>
    /// Plans the download (the source is asked for the files and their hashes, the revision pinned to a commit), checks
    /// the disk has room, and queues the task. Fails at once, creating no task, when the source or model is unknown
    /// (INVALID_SOURCE, MODEL_NOT_FOUND), the source cannot be reached (SOURCE_UNAVAILABLE), the request is wrong
    /// (INVALID_INPUT) or the disk is too full (INSUFFICIENT_STORAGE).
    /// </summary>
    Task<DownloadTaskInfo> StartAsync(DownloadRequest request, CancellationToken cancellationToken = default);

    /// <summary>The task, or DOWNLOAD_NOT_FOUND.</summary>
    Task<DownloadTaskInfo> GetAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>A page of tasks, newest first.</summary>
    Task<DownloadPage> ListAsync(DownloadQuery query, CancellationToken cancellationToken = default);

    /// <summary>Pauses a pending or downloading task, keeping what it received. CONFLICT for a task in another state.</summary>
    Task<DownloadTaskInfo> PauseAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Queues a paused or failed task again; it continues from the bytes it has. CONFLICT for a task in another state.</summary>
    Task<DownloadTaskInfo> ResumeAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Cancels a task that has not finished and removes its files. CONFLICT for a completed or cancelled task.</summary>
    Task<DownloadTaskInfo> CancelAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>Deletes the task's record (cancelling it first when it has not finished) and its files; a registered model stays.</summary>
    Task DeleteAsync(string taskId, CancellationToken cancellationToken = default);

    /// <summary>The queue: slots, active and pending tasks.</summary>
    DownloadQueueInfo GetQueue();

    /// <summary>What downloads and the registry hold on disk.</summary>
    Task<DownloadStorageInfo> GetStorageAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// What happens to the task (all tasks when <paramref name="taskId"/> is null) from now on: a
    /// <see cref="DownloadEventKind.Snapshot"/> of each right away, then every change of state, progress about every
    /// <see cref="DownloadOptions.ProgressInterval"/> while downloading, and deletions. For one task it ends after the task
    /// completes, fails, is cancelled or deleted; else when the token is cancelled. A slow reader misses intermediate
    /// progress, never a change of state.
    /// </summary>
    IAsyncEnumerable<DownloadEvent> WatchAsync(string? taskId = null, CancellationToken cancellationToken = default);

    /// <summary>Waits until the task completes (and returns it), or throws with its failure when it fails or is cancelled.</summary>
    Task<DownloadTaskInfo> WaitForCompletionAsync(string taskId, CancellationToken cancellationToken = default);
}
