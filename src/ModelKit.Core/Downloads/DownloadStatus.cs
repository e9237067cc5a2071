namespace ModelKit.Downloads;

/// <summary>Where a download task stands.</summary>
public enum DownloadStatus
{
    /// <summary>Queued: waiting for a free download slot.</summary>
    Pending,
    /// <summary>Transferring files.</summary>
    Downloading,
    /// <summary>Paused by a client; the bytes received are kept and the transfer resumes where it stopped.</summary>
    Paused,
    /// <summary>Every file is here and verified; the files are being registered as a model version.</summary>
    Registering,
    /// <summary>Done: the files are a ready version in the registry.</summary>
    Completed,
    /// <summary>Failed; <see cref="DownloadTaskInfo.Error"/> says why. Nothing was registered. Resume retries it.</summary>
    Failed,
    /// <summary>Cancelled by a client; its files were removed.</summary>
    Cancelled,
}
