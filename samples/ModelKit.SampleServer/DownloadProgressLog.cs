using ModelKit.Downloads;

namespace ModelKit.SampleServer;

/// <summary>
/// Downloads in the server's log, for people watching it: every change of state, and each active task's progress
/// (percent, bytes, speed, time left) at most every <see cref="Interval"/>.
/// </summary>
internal sealed partial class DownloadProgressLog(IDownloadManager downloads, ILogger<DownloadProgressLog> logger, TimeProvider time) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastLogged = new Dictionary<string, long>(StringComparer.Ordinal);
        try
        {
            await foreach (var e in downloads.WatchAsync(null, stoppingToken))
            {
                var task = e.Task;
                switch (e.Kind)
                {
                    case DownloadEventKind.Changed:
                        LogState(logger, task.Id, task.Request.ModelId, task.Status.ToString().ToLowerInvariant(), Describe(task));
                        lastLogged[task.Id] = time.GetTimestamp();
                        break;
                    case DownloadEventKind.Progress when !lastLogged.TryGetValue(task.Id, out var last) || time.GetElapsedTime(last) >= Interval:
                        LogProgress(logger, task.Id, Bar(task.Percent), task.Percent, Describe(task));
                        lastLogged[task.Id] = time.GetTimestamp();
                        break;
                    case DownloadEventKind.Deleted:
                        lastLogged.Remove(task.Id);
                        break;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }

    private static string Describe(DownloadTaskInfo task) => task.Status switch
    {
        DownloadStatus.Completed => $"registered as {task.TargetModelId} version {task.RegisteredVersion}",
        DownloadStatus.Failed => $"{task.Error?.Code}: {task.Error?.Message}",
        _ => $"{Bytes(task.BytesDownloaded)} of {(task.BytesTotal is { } total ? Bytes(total) : "?")}"
            + (task.BytesPerSecond > 0 ? $", {Bytes((long)task.BytesPerSecond)}/s" : string.Empty)
            + (task.EstimatedTimeLeft is { } eta ? $", {eta:hh\\:mm\\:ss} left" : string.Empty),
    };

    private static string Bar(double percent)
    {
        var filled = (int)Math.Round(Math.Clamp(percent, 0, 100) / 5);
        return "[" + new string('#', filled) + new string('.', 20 - filled) + "]";
    }

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.0} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.0} KiB",
        _ => $"{bytes} B",
    };

    [LoggerMessage(1, LogLevel.Information, "Download {TaskId} ({ModelId}) is {Status}: {Detail}")]
    private static partial void LogState(ILogger logger, string taskId, string modelId, string status, string detail);

    [LoggerMessage(2, LogLevel.Information, "Download {TaskId} {Bar} {Percent:0.0}% — {Detail}")]
    private static partial void LogProgress(ILogger logger, string taskId, string bar, double percent, string detail);
}
