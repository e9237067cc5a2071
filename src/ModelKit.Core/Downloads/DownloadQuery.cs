namespace ModelKit.Downloads;

/// <summary>A filter and page over download tasks, newest first.</summary>
public sealed record DownloadQuery
{
    /// <summary>Only tasks in these states; all when empty.</summary>
    public IReadOnlyList<DownloadStatus> Statuses { get; init; } = [];

    /// <summary>Tasks to skip.</summary>
    public int Offset { get; init; }

    /// <summary>Tasks to return at most (1–1000). Default 20.</summary>
    public int Limit { get; init; } = 20;
}

/// <summary>A page of download tasks and how many match in all.</summary>
/// <param name="Items">The tasks, newest first.</param>
/// <param name="Total">How many tasks match the filter.</param>
public sealed record DownloadPage(IReadOnlyList<DownloadTaskInfo> Items, int Total);

/// <summary>The download queue: slots, and how many tasks are in each state that waits or works.</summary>
/// <param name="MaxConcurrentDownloads">How many tasks transfer at once.</param>
/// <param name="Active">Tasks transferring or registering now.</param>
/// <param name="Pending">Tasks waiting for a slot, oldest first.</param>
/// <param name="Paused">Paused tasks.</param>
/// <param name="BytesPerSecond">The speed of all active tasks together.</param>
public sealed record DownloadQueueInfo(int MaxConcurrentDownloads, IReadOnlyList<DownloadTaskInfo> Active, IReadOnlyList<DownloadTaskInfo> Pending, int Paused, double BytesPerSecond);

/// <summary>Disk use of downloads and the registry.</summary>
/// <param name="DownloadsBytes">Bytes held by unfinished downloads (partial and verified files not yet registered).</param>
/// <param name="RegistryBytes">Bytes of the registry's stored artifacts.</param>
/// <param name="DiskTotalBytes">The size of the disk holding the data directory.</param>
/// <param name="DiskFreeBytes">Free bytes on that disk.</param>
/// <param name="ReservedFreeBytes">The free space downloads leave untouched (<see cref="DownloadOptions.ReservedFreeBytes"/>).</param>
public sealed record DownloadStorageInfo(long DownloadsBytes, long RegistryBytes, long DiskTotalBytes, long DiskFreeBytes, long ReservedFreeBytes);
