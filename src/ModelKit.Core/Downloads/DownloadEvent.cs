namespace ModelKit.Downloads;

/// <summary>What a watcher of downloads is told.</summary>
public enum DownloadEventKind
{
    /// <summary>The task as it stood when watching began.</summary>
    Snapshot,
    /// <summary>The task changed state (queued, started, paused, registering, completed, failed, cancelled).</summary>
    Changed,
    /// <summary>Bytes arrived: the task's progress, speed and time left.</summary>
    Progress,
    /// <summary>The task's record was deleted; <see cref="DownloadEvent.Task"/> is its last state.</summary>
    Deleted,
}

/// <summary>One event of a download task.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Task">The task after it happened.</param>
public sealed record DownloadEvent(DownloadEventKind Kind, DownloadTaskInfo Task);
