namespace ModelKit.Downloads;

// The tasks' state: finding, saving, stopping, changing state and showing a task; the in-memory entry.
internal sealed partial class DownloadManager
{
    private Entry Find(string taskId) =>
        _tasks.TryGetValue(taskId ?? string.Empty, out var entry) ? entry : throw new DownloadNotFoundException($"There is no download task '{ClientText.Quote(taskId, 64)}'.");

    private async Task<DownloadTaskInfo> PersistAsync(string taskId)
    {
        Entry entry;
        lock (_gate) entry = Find(taskId);
        await SaveAsync(entry).ConfigureAwait(false);
        lock (_gate) return entry.Deleted ? throw new DownloadNotFoundException($"Download '{taskId}' was deleted.") : Snapshot(entry);
    }

    /// <summary>Writes the entry's record, unless it was deleted: one write at a time per task, so that no late save brings a deleted task back.</summary>
    private async Task SaveAsync(Entry entry)
    {
        await entry.Saving.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            PersistedDownload record;
            lock (_gate)
            {
                if (entry.Deleted) return;
                record = entry.Record;
            }

            await _store.SaveAsync(record, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            entry.Saving.Release();
        }
    }

    /// <summary>
    /// Marks the task as being cancelled or deleted (no resume can start it again from here on), stops its run, and
    /// waits until the run has ended.
    /// </summary>
    private async Task<Entry> StopAsync(string taskId, StopReason reason, bool allowFinished)
    {
        Entry entry;
        Task? running;
        lock (_gate)
        {
            entry = Find(taskId);
            if (!allowFinished && entry.Record.Status is DownloadStatus.Completed or DownloadStatus.Cancelled)
            {
                throw new ModelKitConflictException($"Download '{taskId}' is {Name(entry.Record.Status)}; only a task that has not finished can be cancelled.");
            }

            _queue.Remove(entry);
            entry.Terminating = reason;
            entry.Stop = reason;
            entry.Run?.Cancel();
            running = entry.Running;
        }

        if (running is not null) await running.ConfigureAwait(false);
        return entry;
    }

    private void SetStatus(Entry entry, DownloadStatus status)
    {
        entry.Record = entry.Record with { Status = status, UpdatedAt = _time.GetUtcNow() };
        _watchers.Publish(new DownloadEvent(DownloadEventKind.Changed, Snapshot(entry)));
    }

    private void Finish(Entry entry, DownloadStatus status, DownloadFailure? error)
    {
        entry.Record = entry.Record with { Error = error, FinishedAt = _time.GetUtcNow() };
        SetStatus(entry, status);
        entry.Finished.TrySetResult();
    }

    private DownloadTaskInfo Snapshot(Entry entry)
    {
        var record = entry.Record;
        var files = new DownloadFileInfo[record.Plan.Files.Count];
        long received = 0;
        var allSized = true;
        for (var i = 0; i < files.Length; i++)
        {
            var file = record.Plan.Files[i];
            var bytes = Interlocked.Read(ref entry.Bytes[i]);
            received += bytes;
            allSized &= file.Size is not null;
            files[i] = new DownloadFileInfo(file.Name, file.Size, bytes, file.Sha256, entry.Verified[i]);
        }

        var total = allSized ? record.Plan.Files.Sum(f => f.Size!.Value) : (long?)null;
        var downloading = record.Status == DownloadStatus.Downloading;
        var speed = downloading ? entry.Speed.BytesPerSecond : 0;
        return new DownloadTaskInfo
        {
            Id = record.Id,
            Request = record.Request,
            Status = record.Status,
            Revision = record.Plan.Revision,
            Files = files,
            BytesDownloaded = received,
            BytesTotal = total,
            BytesPerSecond = Math.Round(speed, 1),
            EstimatedTimeLeft = downloading && speed > 0 && total is { } t ? TimeSpan.FromSeconds(Math.Ceiling(Math.Max(0, t - received) / speed)) : null,
            Error = record.Error,
            TargetModelId = record.TargetModelId,
            RegisteredVersion = record.RegisteredVersion,
            CreatedAt = record.CreatedAt,
            UpdatedAt = record.UpdatedAt,
            StartedAt = record.StartedAt,
            FinishedAt = record.FinishedAt,
        };
    }

    private static bool IsFinal(DownloadStatus status) => status is DownloadStatus.Completed or DownloadStatus.Failed or DownloadStatus.Cancelled;

    private static string Name(DownloadStatus status) => status.ToString().ToLowerInvariant();

    private static string Bytes(long bytes) => Caching.ModelCache.FormatBytes(bytes);

    private enum StopReason
    {
        None,
        Pause,
        Cancel,
        Delete,
    }

    /// <summary>A task in memory: its record, bytes received per file, and its run.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "SemaphoreSlim holds nothing to dispose unless its AvailableWaitHandle is read, which it never is; a deleted task's late savers may still wait on it.")]
    private sealed class Entry(PersistedDownload record)
    {
        public PersistedDownload Record = record;
        public readonly long[] Bytes = new long[record.Plan.Files.Count];
        public readonly bool[] Verified = new bool[record.Plan.Files.Count];
        public readonly SpeedMeter Speed = new();
        public readonly SemaphoreSlim Saving = new(1, 1);
        public CancellationTokenSource? Run;
        public Task? Running;
        public StopReason Stop;
        /// <summary>Set when a cancel or delete begins: the task is never queued or started again.</summary>
        public StopReason Terminating;
        /// <summary>Set when the record is deleted: no save writes it back.</summary>
        public bool Deleted;
        public TaskCompletionSource Finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
