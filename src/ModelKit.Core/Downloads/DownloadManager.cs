using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelKit.Registry;
using Polly;
using Polly.Retry;

namespace ModelKit.Downloads;

/// <summary>
/// The download manager (<see cref="IDownloadManager"/>). Tasks live in memory and in <see cref="DownloadTaskStore"/>;
/// their files under <c>{data}/downloads/{task}/</c> as <c>name.part</c> while arriving and <c>name</c> once verified.
/// One lock guards the tasks and the queue; transfers run outside it.
/// </summary>
internal sealed partial class DownloadManager : IDownloadManager, IAsyncDisposable
{
    private readonly Dictionary<string, IModelSource> _sources = new(StringComparer.OrdinalIgnoreCase);
    private readonly IModelRegistry _registry;
    private readonly DownloadTaskStore _store;
    private readonly DownloadOptions _options;
    private readonly string _dataDirectory;
    private readonly string _stagingRoot;
    private readonly long _maxArtifactBytes;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _tasks = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _queue = new();
    private readonly DownloadWatchers _watchers = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _restoring = new(1, 1);
    private volatile bool _restored;
    private int _active;
    private Task? _ticker;
    private bool _disposed;

    public DownloadManager(
        IEnumerable<IModelSource> sources, IModelRegistry registry, DownloadOptions options, ModelKitOptions modelKit, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(modelKit);
        foreach (var source in sources) _sources[source.Name] = source; // a host's source replaces a built-in one of the same name
        _registry = registry;
        _options = options;
        _dataDirectory = Path.GetFullPath(modelKit.DataDirectory);
        _stagingRoot = Path.Combine(_dataDirectory, "downloads");
        _maxArtifactBytes = modelKit.MaxArtifactBytes;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        Directory.CreateDirectory(_stagingRoot);
        _store = new DownloadTaskStore(Path.Combine(_dataDirectory, "downloads.db"));
        _retry = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutException>()
                    .Handle<IOException>(ex => !ArchiveFormats.IsDiskFull(ex)),
                MaxRetryAttempts = Math.Max(1, options.MaxRetries),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryDelay,
                MaxDelay = TimeSpan.FromMinutes(1),
                OnRetry = args =>
                {
                    Log.DownloadRetrying(_logger, args.AttemptNumber + 1, args.RetryDelay.TotalSeconds, args.Outcome.Exception?.Message ?? "no answer");
                    return default;
                },
            })
            .Build();
        if (options.MaxRetries == 0) _retry = ResiliencePipeline.Empty;
    }

    /// <summary>Loads the stored tasks once and queues those that were pending or transferring when the process stopped.</summary>
    public async Task RestoreAsync(CancellationToken cancellationToken = default)
    {
        if (_restored) return;
        await _restoring.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_restored) return;
            var stored = await _store.LoadAsync(cancellationToken).ConfigureAwait(false);
            var resumed = 0;
            lock (_gate)
            {
                foreach (var record in stored)
                {
                    var entry = new Entry(record.Status is DownloadStatus.Downloading or DownloadStatus.Registering ? record with { Status = DownloadStatus.Pending } : record);
                    MeasureFiles(entry);
                    _tasks[record.Id] = entry;
                    if (entry.Record.Status == DownloadStatus.Pending)
                    {
                        _queue.AddLast(entry);
                        resumed++;
                    }
                    else if (IsFinal(entry.Record.Status))
                    {
                        entry.Finished.TrySetResult();
                    }
                }

                _restored = true;
            }

            RemoveOrphanedFiles();
            if (resumed > 0) Log.DownloadsResumed(_logger, resumed);
            if (_store.Unreadable > 0) Log.DownloadRecordsUnreadable(_logger, _store.Unreadable);
            _ticker = TickAsync(_stopping.Token);
            Pump();
        }
        finally
        {
            _restoring.Release();
        }
    }

    public async Task<DownloadTaskInfo> StartAsync(DownloadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        var source = SourceFor(request.Source);
        var target = request.RegisterAs ?? request.ModelId;
        if (!ModelIdentifiers.IsValidModelId(target))
        {
            throw new InvalidInputException($"'{ClientText.Quote(target, 64)}' cannot be a registry id: {ModelIdentifiers.IdRule}.");
        }

        if (request.Version is not null && !ModelIdentifiers.IsValidVersion(request.Version))
        {
            throw new InvalidInputException($"'version' '{ClientText.Quote(request.Version, 64)}' is not a version label: {ModelIdentifiers.VersionRule}.");
        }

        if (request.Version is not null && await _registry.FindModelAsync(target, cancellationToken).ConfigureAwait(false) is { } existing
            && existing.Versions.Any(v => string.Equals(v.Version, request.Version, StringComparison.Ordinal)))
        {
            throw new ModelAlreadyExistsException($"Model '{target}' already has a version '{request.Version}'.");
        }

        if (request.Task is { } task && (task.Length is 0 or > 64 || task.Any(char.IsControl)))
        {
            throw new InvalidInputException("'model_type' must be 1-64 printable characters.");
        }

        FileSelection.Validate(request.AllowPatterns, "allow_patterns");
        FileSelection.Validate(request.IgnorePatterns, "ignore_patterns");
        if (request.PathInArchive is { } inside && (inside.Length > 1024 || inside.Any(char.IsControl) || inside.Contains("..", StringComparison.Ordinal)))
        {
            throw new InvalidInputException("'path_in_archive' must be a folder or file inside the archive: at most 1024 printable characters, without '..'.");
        }

        var plan = await source.PlanAsync(request, cancellationToken).ConfigureAwait(false);
        CheckPlan(plan);
        var size = plan.Files.Sum(f => f.Size ?? 0);
        if (size > _maxArtifactBytes)
        {
            throw new PayloadTooLargeException($"The model's files take {Bytes(size)}, more than the registry accepts ({Bytes(_maxArtifactBytes)}, ModelKit:MaxArtifactBytes).");
        }

        CheckDiskSpace(NeededBytes(plan, 0), null);
        var now = _time.GetUtcNow();
        var record = new PersistedDownload
        {
            Id = "dl_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
            Source = source.Name,
            Request = request,
            Plan = plan,
            TargetModelId = target,
            Status = DownloadStatus.Pending,
            CreatedAt = now,
            UpdatedAt = now,
        };
        await _store.SaveAsync(record, CancellationToken.None).ConfigureAwait(false);
        DownloadTaskInfo snapshot;
        lock (_gate)
        {
            var entry = new Entry(record);
            _tasks[record.Id] = entry;
            _queue.AddLast(entry);
            snapshot = Snapshot(entry);
            _watchers.Publish(new DownloadEvent(DownloadEventKind.Changed, snapshot));
        }

        Log.DownloadQueued(_logger, record.Id, source.Name, record.Request.ModelId, plan.Files.Count, size);
        await TrimFinishedAsync().ConfigureAwait(false);
        Pump();
        return snapshot;
    }

    public async Task<DownloadTaskInfo> GetAsync(string taskId, CancellationToken cancellationToken = default)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate) return Snapshot(Find(taskId));
    }

    public async Task<DownloadPage> ListAsync(DownloadQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Offset < 0) throw new InvalidInputException($"The offset must be 0 or more (was {query.Offset}).");
        if (query.Limit is < 1 or > 1000) throw new InvalidInputException($"The page size must be 1-1000 (was {query.Limit}).");
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            var matching = _tasks.Values
                .Where(e => query.Statuses.Count == 0 || query.Statuses.Contains(e.Record.Status))
                .OrderByDescending(e => e.Record.CreatedAt).ThenByDescending(e => e.Record.Id, StringComparer.Ordinal)
                .ToList();
            return new DownloadPage(matching.Skip(query.Offset).Take(query.Limit).Select(Snapshot).ToList(), matching.Count);
        }
    }

    public async Task<DownloadTaskInfo> PauseAsync(string taskId, CancellationToken cancellationToken = default)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        Task? running;
        lock (_gate)
        {
            var entry = Find(taskId);
            switch (entry.Record.Status)
            {
                case DownloadStatus.Pending:
                    _queue.Remove(entry);
                    SetStatus(entry, DownloadStatus.Paused);
                    break;
                case DownloadStatus.Downloading:
                    entry.Stop = StopReason.Pause;
                    entry.Run?.Cancel();
                    break;
                case DownloadStatus.Paused:
                    return Snapshot(entry);
                default:
                    throw new ModelKitConflictException($"Download '{taskId}' is {Name(entry.Record.Status)}; only a pending or downloading task can be paused.");
            }

            running = entry.Running;
        }

        if (running is not null) await running.ConfigureAwait(false);
        return await PersistAsync(taskId).ConfigureAwait(false);
    }

    public async Task<DownloadTaskInfo> ResumeAsync(string taskId, CancellationToken cancellationToken = default)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            var entry = Find(taskId);
            switch (entry.Record.Status)
            {
                case DownloadStatus.Paused or DownloadStatus.Failed when entry.Terminating != StopReason.None:
                    throw new ModelKitConflictException($"Download '{taskId}' is being cancelled or deleted; it cannot be resumed.");
                case DownloadStatus.Paused or DownloadStatus.Failed:
                    CheckDiskSpace(NeededBytes(entry.Record.Plan, entry.Bytes.Sum()), taskId);
                    entry.Record = entry.Record with { Error = null, FinishedAt = null };
                    // A paused task's waiters keep waiting for the same completion; a failed one's were released.
                    if (entry.Finished.Task.IsCompleted) entry.Finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    MeasureFiles(entry);
                    SetStatus(entry, DownloadStatus.Pending);
                    _queue.AddLast(entry);
                    break;
                case DownloadStatus.Pending or DownloadStatus.Downloading:
                    return Snapshot(entry);
                default:
                    throw new ModelKitConflictException($"Download '{taskId}' is {Name(entry.Record.Status)}; only a paused or failed task can be resumed.");
            }
        }

        Pump();
        return await PersistAsync(taskId).ConfigureAwait(false);
    }

    public async Task<DownloadTaskInfo> CancelAsync(string taskId, CancellationToken cancellationToken = default)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        var entry = await StopAsync(taskId, StopReason.Cancel, allowFinished: false).ConfigureAwait(false);
        lock (_gate)
        {
            if (entry.Record.Status == DownloadStatus.Completed)
            {
                // Its registration committed before the cancellation reached it: the model is registered.
                entry.Terminating = StopReason.None;
                throw new ModelKitConflictException($"Download '{taskId}' completed before it could be cancelled; its model is registered as version {entry.Record.RegisteredVersion}.");
            }

            if (entry.Record.Status != DownloadStatus.Cancelled) Finish(entry, DownloadStatus.Cancelled, null);
        }

        // The record first, then the files: a crash between the two leaves files that the next start removes, never a
        // task that comes back.
        var snapshot = await PersistAsync(taskId).ConfigureAwait(false);
        DeleteFiles(taskId);
        Log.DownloadCancelled(_logger, taskId);
        return snapshot;
    }

    public async Task DeleteAsync(string taskId, CancellationToken cancellationToken = default)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        var entry = await StopAsync(taskId, StopReason.Delete, allowFinished: true).ConfigureAwait(false);
        await entry.Saving.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            lock (_gate)
            {
                entry.Deleted = true;
                _tasks.Remove(taskId);
                _queue.Remove(entry);
                entry.Finished.TrySetResult();
                _watchers.Publish(new DownloadEvent(DownloadEventKind.Deleted, Snapshot(entry)));
            }

            await _store.DeleteAsync(taskId, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            entry.Saving.Release();
        }

        DeleteFiles(taskId);
    }

    public DownloadQueueInfo GetQueue()
    {
        lock (_gate)
        {
            var active = _tasks.Values.Where(e => e.Record.Status is DownloadStatus.Downloading or DownloadStatus.Registering).OrderBy(e => e.Record.CreatedAt).Select(Snapshot).ToList();
            return new DownloadQueueInfo(
                _options.MaxConcurrentDownloads,
                active,
                _queue.Select(Snapshot).ToList(),
                _tasks.Values.Count(e => e.Record.Status == DownloadStatus.Paused),
                active.Sum(t => t.BytesPerSecond));
        }
    }

    public async Task<DownloadStorageInfo> GetStorageAsync(CancellationToken cancellationToken = default)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        var drive = new DriveInfo(_dataDirectory);
        return new DownloadStorageInfo(
            DirectorySize(_stagingRoot),
            DirectorySize(Path.Combine(_dataDirectory, "blobs")),
            drive.TotalSize,
            drive.AvailableFreeSpace,
            _options.ReservedFreeBytes);
    }

    public async IAsyncEnumerable<DownloadEvent> WatchAsync(string? taskId = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        if (taskId is not null)
        {
            lock (_gate) Find(taskId);
        }

        await foreach (var e in _watchers.WatchAsync(taskId, Snapshots, cancellationToken).ConfigureAwait(false)) yield return e;

        IReadOnlyList<DownloadTaskInfo> Snapshots()
        {
            lock (_gate)
            {
                if (taskId is null) return _tasks.Values.OrderBy(e => e.Record.CreatedAt).Select(Snapshot).ToList();
                return _tasks.TryGetValue(taskId, out var entry) ? [Snapshot(entry)] : [];
            }
        }
    }

    public async Task<DownloadTaskInfo> WaitForCompletionAsync(string taskId, CancellationToken cancellationToken = default)
    {
        await RestoreAsync(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            Task finished;
            lock (_gate)
            {
                if (!_tasks.TryGetValue(taskId, out var entry)) throw new DownloadNotFoundException($"Download '{ClientText.Quote(taskId, 64)}' was deleted while it was awaited.");
                var snapshot = Snapshot(entry);
                switch (snapshot.Status)
                {
                    case DownloadStatus.Completed: return snapshot;
                    case DownloadStatus.Failed: throw new DownloadFailedException(snapshot.Error?.Code ?? ModelKitErrorCodes.InternalError, $"Download '{taskId}' failed: {snapshot.Error?.Message}");
                    case DownloadStatus.Cancelled: throw new DownloadFailedException(ModelKitErrorCodes.Conflict, $"Download '{taskId}' was cancelled.");
                }

                finished = entry.Finished.Task;
            }

            await finished.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task[] running;
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            running = _tasks.Values.Select(e => e.Running).OfType<Task>().ToArray();
        }

        // Shutting down is not pausing: the stored state stays "downloading", and the next process resumes the task.
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            if (_ticker is not null) await _ticker.ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A transfer stuck in a system call; its process is going away.
        }

        _stopping.Dispose();
    }

    private IModelSource SourceFor(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new InvalidSourceException($"'source' is required: one of {string.Join(", ", _sources.Keys.Order())}.");
        if (_sources.TryGetValue(name, out var source)) return source;
        if (name.Equals("ollama", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidSourceException($"'ollama' is not a source ModelKit downloads from: Ollama's registry serves GGUF weights, which the ONNX backend cannot load. Use one of {string.Join(", ", _sources.Keys.Order())}.");
        }

        throw new InvalidSourceException($"'{ClientText.Quote(name, 32)}' is not a model source: use one of {string.Join(", ", _sources.Keys.Order())}.");
    }

    private static void CheckPlan(ModelSourcePlan plan)
    {
        if (plan.Files.Count == 0) throw new InvalidInputException("The source has no files to download for this model.");
        if (plan.Files.Count > ArtifactNames.MaxFiles) throw new InvalidInputException($"The model has {plan.Files.Count} files to download; a version holds at most {ArtifactNames.MaxFiles}.");
        foreach (var file in plan.Files)
        {
            if (!ArtifactNames.IsAllowed(file.Name)) throw new InvalidInputException($"The source named a file '{ClientText.Quote(file.Name, 64)}', which cannot be a model file.");
        }
    }

    // What a task still needs on disk: the bytes it has yet to receive, and a copy of everything for the registry.
    private static long NeededBytes(ModelSourcePlan plan, long received)
    {
        var total = plan.Files.Sum(f => f.Size ?? 0);
        return Math.Max(0, total - received) + total;
    }

    private void CheckDiskSpace(long needed, string? taskId)
    {
        var free = new DriveInfo(_dataDirectory).AvailableFreeSpace;
        if (free - needed < _options.ReservedFreeBytes)
        {
            throw new InsufficientStorageException(
                $"{(taskId is null ? "The download" : $"Download '{taskId}'")} needs {Bytes(needed)} of disk (its files and their copy into the registry), and only {Bytes(Math.Max(0, free - _options.ReservedFreeBytes))} is free beyond the {Bytes(_options.ReservedFreeBytes)} kept in reserve.");
        }
    }
}
