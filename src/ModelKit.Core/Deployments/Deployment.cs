using Microsoft.Extensions.Logging;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace ModelKit.Deployments;

/// <summary>The mutable state of one deployment. Fields change under <see cref="Gate"/>; operations are serialised by <see cref="Operation"/>.</summary>
internal sealed class Deployment(string id, string modelId, int maxLogEntries, string? downloadTaskId = null)
{
    private readonly Queue<DeploymentLogEntry> _log = new();
    // A deployment of a model still to be downloaded has a "download" stage before the others.
    private readonly StageState[] _stages = downloadTaskId is null
        ? Array.ConvertAll(DeploymentManager.StageNames, static n => new StageState(n))
        : [new StageState(DeploymentManager.DownloadStage), .. Array.ConvertAll(DeploymentManager.StageNames, static n => new StageState(n))];
    private readonly int _offset = downloadTaskId is null ? 0 : 1;
    private TaskCompletionSource _settled = NewSettled();
    private volatile ServedModel? _runtime;

    public Lock Gate { get; } = new();
    public SemaphoreSlim Operation { get; } = new(1, 1);
    public string Id { get; } = id;
    public string ModelId { get; } = modelId;

    /// <summary>
    /// The download task that brings the model into the registry (a deployment from a source; empty until the task is
    /// started); null otherwise.
    /// </summary>
    public string? DownloadTaskId { get; set; } = downloadTaskId;

    /// <summary>The source the download takes the model from (<c>huggingface</c>, <c>url</c> …); null without a download.</summary>
    public string? DownloadSource { get; init; }

    public required string Framework { get; set; }
    public required string Version { get; set; }
    /// <summary>The registered version served (its files and signature); null when it could not be restored.</summary>
    public ModelVersionInfo? VersionInfo { get; set; }
    public ExecutionDevice Device { get; set; }
    public required BatchingOptions Batching { get; set; }
    public int Desired { get; set; }
    public int Min { get; set; }
    public int Max { get; set; }
    public int TargetQueueDepth { get; set; }
    public long? MemoryRequest { get; set; }
    public RequestPriority DefaultPriority { get; set; }
    public int? IntraOpThreads { get; set; }
    public GenerationLimits? Generation { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DeploymentState State { get; set; }
    public string? FailureReason { get; set; }
    public string? FailureCode { get; set; }
    public string? UpdatingTo { get; set; }
    public ModelCacheKey? PinnedKey { get; set; }
    public int IdleChecks { get; set; }
    public bool DesiredRunning { get; set; }
    public IReadOnlyDictionary<string, string> Environment { get; set; } = new Dictionary<string, string>();
    public CancellationTokenSource? BringUp { get; set; }
    public Task? BringUpTask { get; set; }

    /// <summary>The runtime taking traffic; read without the lock on the hot path.</summary>
    public ServedModel? Runtime
    {
        get => _runtime;
        set => _runtime = value;
    }

    public void Touch(DateTimeOffset now) => UpdatedAt = now;

    public (string Version, string? UpdatingTo, DeploymentState State) Describe()
    {
        lock (Gate) return (Version, UpdatingTo, State);
    }

    public void AddLog(DateTimeOffset at, LogLevel level, string message)
    {
        lock (Gate)
        {
            _log.Enqueue(new DeploymentLogEntry(at, level, message));
            while (_log.Count > maxLogEntries) _log.Dequeue();
        }
    }

    public IReadOnlyList<DeploymentLogEntry> GetLogs(int lines)
    {
        lock (Gate)
        {
            return [.. _log.Skip(Math.Max(0, _log.Count - lines))];
        }
    }

    public void ResetStages()
    {
        lock (Gate)
        {
            // A completed download stays completed: the model is in the registry, and a restart or update does not fetch it again.
            for (var i = 0; i < _stages.Length; i++)
            {
                if (i < _offset && _stages[i].Status == DeploymentStageStatus.Completed) continue;
                _stages[i].Reset();
            }
        }
    }

    public void BeginStage(int index, TimeProvider time)
    {
        lock (Gate)
        {
            var s = _stages[index + _offset];
            s.Status = DeploymentStageStatus.InProgress;
            s.StartedAt = time.GetUtcNow();
            s.StartedTimestamp = time.GetTimestamp();
        }
    }

    public void EndStage(int index, DeploymentStageStatus status, string? message, TimeProvider time)
    {
        lock (Gate)
        {
            var s = _stages[index + _offset];
            s.Status = status;
            s.Message = message;
            s.Duration = time.GetElapsedTime(s.StartedTimestamp);
        }
    }

    /// <summary>Begins the download stage (index -1 in <see cref="BeginStage"/>'s numbering).</summary>
    public void BeginDownloadStage(TimeProvider time) => BeginStage(-1, time);

    /// <summary>Sets the download stage's message while it runs (its progress).</summary>
    public void ReportDownload(string message, double? percent)
    {
        lock (Gate)
        {
            _stages[0].Message = message;
            _stages[0].Progress = percent;
        }
    }

    /// <summary>Marks the download stage completed when it has not run in this process (a deployment restored after its download).</summary>
    public void CompleteDownloadStageIfPending(string message)
    {
        lock (Gate)
        {
            var s = _stages[0];
            if (s.Status != DeploymentStageStatus.Pending) return;
            s.Status = DeploymentStageStatus.Completed;
            s.Message = message;
            s.Progress = 100;
        }
    }

    /// <summary>Ends the download stage.</summary>
    public void EndDownloadStage(DeploymentStageStatus status, string? message, TimeProvider time) => EndStage(-1, status, message, time);

    public void CancelBringUp()
    {
        CancellationTokenSource? cts;
        lock (Gate) cts = BringUp;
        cts?.Cancel();
    }

    public void ResetSettled()
    {
        lock (Gate)
        {
            if (_settled.Task.IsCompleted) _settled = NewSettled();
        }
    }

    public void SetSettled()
    {
        TaskCompletionSource settled;
        lock (Gate) settled = _settled;
        settled.TrySetResult();
    }

    public Task WaitForSettledAsync(CancellationToken cancellationToken)
    {
        Task task;
        lock (Gate) task = _settled.Task;
        return task.WaitAsync(cancellationToken);
    }

    public DeploymentInfo Snapshot(IModelCache cache)
    {
        ModelCacheKey key;
        DeploymentInfo info;
        lock (Gate)
        {
            // A stage left in progress by a failure is shown as failed.
            var stages = new DeploymentStage[_stages.Length];
            string? current = null;
            var finished = 0;
            for (var i = 0; i < stages.Length; i++)
            {
                var s = _stages[i];
                var status = s.Status == DeploymentStageStatus.InProgress && State == DeploymentState.Failed ? DeploymentStageStatus.Failed : s.Status;
                if (status == DeploymentStageStatus.InProgress) current = s.Name;
                if (status is DeploymentStageStatus.Completed or DeploymentStageStatus.Skipped) finished++;
                stages[i] = new DeploymentStage
                {
                    Name = s.Name,
                    Status = status,
                    StartedAt = s.StartedAt,
                    Duration = s.Duration,
                    Message = status == DeploymentStageStatus.Failed && s.Message is null ? FailureReason : s.Message,
                    Progress = s.Progress,
                };
            }

            var runtime = _runtime;
            key = new ModelCacheKey(ModelId, Version, Device);
            info = new DeploymentInfo
            {
                DeploymentId = Id,
                ModelId = ModelId,
                Version = Version,
                UpdatingToVersion = UpdatingTo,
                Device = Device.ToString(),
                State = State,
                FailureReason = FailureReason,
                FailureCode = FailureCode,
                DesiredReplicas = Desired,
                ReadyReplicas = State == DeploymentState.Running && runtime is not null ? runtime.Queue.Instances : 0,
                MinReplicas = Min,
                MaxReplicas = Max,
                TargetQueueDepth = TargetQueueDepth,
                MemoryRequestBytes = MemoryRequest,
                Batching = Batching with { Instances = Desired },
                DefaultPriority = DefaultPriority,
                Pinned = PinnedKey is not null,
                CreatedAt = CreatedAt,
                UpdatedAt = UpdatedAt,
                StartedAt = StartedAt,
                Stages = stages,
                CurrentStage = current,
                Progress = finished * 100 / stages.Length,
                Queue = runtime?.Queue.GetStats(),
                Environment = Environment,
                Generation = Generation,
                DownloadTaskId = DownloadTaskId,
                DownloadSource = DownloadSource,
            };
        }

        // What the deployment holds: a stopped or failed one holds nothing, even while the cache still keeps its session.
        return info.State is DeploymentState.Running or DeploymentState.Loading && cache.GetStats().Find(key) is { } entry
            ? info with { MemoryUsedBytes = entry.MemoryBytes }
            : info;
    }

    public PersistedDeployment ToRecord()
    {
        lock (Gate)
        {
            return new PersistedDeployment
            {
                DeploymentId = Id,
                ModelId = ModelId,
                Version = Version,
                Device = Device.ToString(),
                Replicas = Desired,
                MinReplicas = Min,
                MaxReplicas = Max,
                TargetQueueDepth = TargetQueueDepth,
                MemoryRequestBytes = MemoryRequest,
                MaxBatchSize = Batching.MaxBatchSize,
                MaxBatchElements = Batching.MaxBatchElements,
                MaxQueueDelayMs = Batching.MaxQueueDelay.TotalMilliseconds,
                MaxQueueSize = Batching.MaxQueueSize,
                InlineExecution = Batching.InlineExecution,
                DefaultPriority = DefaultPriority,
                IntraOpThreads = IntraOpThreads,
                MaxContextLength = Generation?.MaxContextLength,
                KvCacheBytes = Generation?.KvCacheBytes,
                Running = DesiredRunning,
                DownloadTaskId = DownloadTaskId,
                DownloadSource = DownloadSource,
                CreatedAt = CreatedAt,
                Environment = Environment.Count == 0 ? null : new Dictionary<string, string>(Environment, StringComparer.Ordinal),
            };
        }
    }

    private static TaskCompletionSource NewSettled() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class StageState(string name)
    {
        public string Name { get; } = name;
        public DeploymentStageStatus Status { get; set; }
        public DateTimeOffset? StartedAt { get; set; }
        public long StartedTimestamp { get; set; }
        public TimeSpan? Duration { get; set; }
        public string? Message { get; set; }
        public double? Progress { get; set; }

        public void Reset()
        {
            Status = DeploymentStageStatus.Pending;
            StartedAt = null;
            Duration = null;
            Message = null;
            Progress = null;
        }
    }
}
