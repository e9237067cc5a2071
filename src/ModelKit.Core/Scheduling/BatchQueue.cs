using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelKit.Diagnostics;
using ModelKit.Tensors;

namespace ModelKit.Scheduling;

/// <summary>
/// The dynamic batching queue of one deployed model. Requests wait in three priority lists; when an
/// instance is free and a batch is ready (full, or its oldest request has waited <see cref="BatchingOptions.MaxQueueDelay"/>),
/// compatible requests (same input names, types and dimensions after the first) are merged up to
/// <see cref="BatchingOptions.MaxBatchSize"/> rows and run as one. A full queue rejects with QUEUE_FULL;
/// a request cancelled or timed out before dispatch never reaches the backend, and a running batch whose every
/// caller has timed out or gone away is cancelled in the backend (ONNX Runtime terminates the run).
/// </summary>
internal sealed partial class BatchQueue : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly PendingList[] _lists = [new(), new(), new()];
    private readonly IBatchExecutor _executor;
    private readonly TimeProvider _timeProvider;
    private readonly ModelKitMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ITimer _delayTimer;
    private readonly ITimer _deadlineTimer;
    private readonly PendingList _dispatched = new();
    private long _armedDeadline = long.MaxValue;
    private readonly KeyValuePair<string, object?> _modelTag;
    private readonly bool _supportsBatching;
    private readonly BatchingOptions _options;
    private TaskCompletionSource? _drained;
    private int _instances;
    private int _reservedThreads; // thread-pool threads this queue's instances may hold (ThreadPoolReservation)
    private int _running;
    private int _count;   // waiting requests, in the intake or the lists (changed with Interlocked: callers add without the lock)
    private int _listed;  // under _lock: the waiting requests in the lists
    private int _starting; // 1 while a caller starts batches on free instances (StartFreeInstances)
    private PendingRequest? _intake; // requests pushed without the lock, newest first; moved to the lists under it
    private long _queuedRows;
    private bool _timerArmed;
    private bool _stopping;
    private bool _dropping; // stopped without draining: requests that slip in fail at once
    private double _averageBatchSeconds;
    private double _drainPerSecond;  // requests finished per second while a backlog waited (EWMA): what Retry-After is based on
    private long _backlogFinishedAt; // timestamp of the last batch that finished with requests still queued; 0 when none waited
    private long _enqueued, _succeeded, _failed, _timedOut, _cancelled, _rejected, _batches, _batchedRequests, _terminated, _succeededLatencyTicks;

    /// <summary>Creates a queue.</summary>
    /// <param name="name">The name used in messages and metrics (usually the model id).</param>
    /// <param name="options">Batching settings; validated.</param>
    /// <param name="supportsBatching">False when the model cannot take stacked inputs: every request then runs alone.</param>
    /// <param name="executor">Runs merged batches.</param>
    /// <param name="timeProvider">Time source for delays and timeouts.</param>
    /// <param name="metrics">Instruments; a standalone set when null.</param>
    /// <param name="logger">Logger.</param>
    public BatchQueue(
        string name,
        BatchingOptions options,
        bool supportsBatching,
        IBatchExecutor executor,
        TimeProvider? timeProvider = null,
        ModelKitMetrics? metrics = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(executor);
        options.Validate();
        Name = name;
        _options = options;
        _instances = options.Instances;
        _supportsBatching = supportsBatching && options.MaxBatchSize > 1;
        _executor = executor;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _metrics = metrics ?? new ModelKitMetrics();
        _logger = logger ?? NullLogger.Instance;
        _modelTag = new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, name);
        // The timers must not capture the context of whoever creates the queue (the first request of a model): the delay
        // timer runs batches, which would otherwise log and trace under that request's activity and scopes.
        using (ExecutionContext.SuppressFlow())
        {
            _delayTimer = _timeProvider.CreateTimer(static state => ((BatchQueue)state!).OnDelayElapsed(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _deadlineTimer = _timeProvider.CreateTimer(static state => ((BatchQueue)state!).OnDeadline(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        _reservedThreads = _instances;
        ThreadPoolReservation.Change(_reservedThreads);
    }

    /// <summary>The queue's name.</summary>
    public string Name { get; }

    /// <summary>The batching settings.</summary>
    public BatchingOptions Options => _options;

    /// <summary>Requests waiting.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>True once <see cref="StopAsync"/> was called: new requests are refused.</summary>
    public bool IsStopping => Volatile.Read(ref _stopping); // written under the lock; read on every resolve without it

    /// <summary>Execution instances (batches that may run at once).</summary>
    public int Instances => Volatile.Read(ref _instances);

    /// <summary>
    /// Queues one request and returns its outputs once its batch has run.
    /// Throws <see cref="QueueFullException"/> when the queue is full; the task fails with
    /// <see cref="InferenceTimeoutException"/> after <paramref name="timeout"/>, or is cancelled with <paramref name="cancellationToken"/>.
    /// </summary>
    public Task<IReadOnlyDictionary<string, Tensor>> EnqueueAsync(
        IReadOnlyDictionary<string, Tensor> inputs,
        RequestPriority priority = RequestPriority.Normal,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if ((uint)priority > (uint)RequestPriority.Low) throw new ArgumentOutOfRangeException(nameof(priority), priority, null);
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled<IReadOnlyDictionary<string, Tensor>>(cancellationToken);

        var now = _timeProvider.GetTimestamp();
        var request = new PendingRequest(this, inputs, priority, now) { CancellationToken = cancellationToken };
        if (timeout is { } t && t != Timeout.InfiniteTimeSpan)
        {
            var ticks = Math.Max(1, (long)(Math.Max(0, t.TotalSeconds) * _timeProvider.TimestampFrequency));
            request.Deadline = now + ticks;
        }

        // Counted before the stop is read, as StopAsync sets the stop before it reads the count: either the stop sees this
        // request (and waits for it), or this caller sees the stop.
        var count = Interlocked.Increment(ref _count);
        if (Volatile.Read(ref _stopping))
        {
            Uncount();
            throw new ModelKitConflictException($"Model '{Name}' is stopping and accepts no new requests.");
        }

        if (count > _options.MaxQueueSize) throw Reject();

        Interlocked.Increment(ref _enqueued);
        _metrics.QueueLength.Add(1, _modelTag);
        Push(request);

        // The lock is needed only when the request may have to start a batch or a timer: an instance is free, the queue is
        // stopping, or no timer is armed early enough for its deadline. Otherwise the instance that finishes next takes it
        // from the intake. Push is a full fence, and whoever frees an instance or fires the timer looks at the intake after
        // changing what is read here, so one of the two always sees the other (OnBatchFinished, OnDeadline).
        PendingRequest[]? inline = null;
        List<PendingRequest[]>? more = null;
        List<PendingRequest>? dropped = null;
        if (Volatile.Read(ref _stopping) || request.Deadline < Volatile.Read(ref _armedDeadline))
        {
            lock (_lock)
            {
                if (_dropping)
                {
                    // Stopped without draining after this request was counted: it fails with the others that slipped in.
                    dropped = DropListed();
                }
                else
                {
                    if (request.Deadline < _armedDeadline) ArmDeadline(request.Deadline, now);
                    inline = FormBatchesOrInline(ref more);
                }
            }
        }
        else if (Volatile.Read(ref _running) < Volatile.Read(ref _instances))
        {
            inline = StartFreeInstances(ref more);
        }

        FailStopped(dropped);
        if (cancellationToken.CanBeCanceled)
        {
            request.Registration = cancellationToken.UnsafeRegister(static state => ((PendingRequest)state!).Abort(timedOut: false), request);
        }

        if (request.Task.IsCompleted) request.Cleanup();
        Dispatch(more);
        if (inline is not null) _ = RunBatchesAsync(inline, keepRunning: false);
        return request.Task;
    }

    /// <summary>Changes the number of execution instances at once, without reloading anything.</summary>
    public void SetInstances(int instances)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(instances, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(instances, 256);
        List<PendingRequest[]>? batches = null;
        lock (_lock)
        {
            if (_reservedThreads > 0)
            {
                ThreadPoolReservation.Change(instances - _reservedThreads);
                _reservedThreads = instances;
            }

            _instances = instances;
            FormBatches(ref batches);
        }

        Dispatch(batches);
    }

    private static TimeSpan AverageOf(long ticks, long count) => count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(ticks / count);

    /// <summary>Counters of this queue.</summary>
    public BatchQueueStats GetStats()
    {
        lock (_lock)
        {
            return new BatchQueueStats
            {
                QueueLength = Volatile.Read(ref _count),
                Running = _running,
                Instances = _instances,
                Enqueued = Interlocked.Read(ref _enqueued),
                Succeeded = Interlocked.Read(ref _succeeded),
                Failed = Interlocked.Read(ref _failed),
                TimedOut = Interlocked.Read(ref _timedOut),
                Cancelled = Interlocked.Read(ref _cancelled),
                Rejected = _rejected,
                Batches = _batches,
                Terminated = Interlocked.Read(ref _terminated),
                AverageBatchSize = _batches == 0 ? 0 : (double)_batchedRequests / _batches,
                AverageLatency = AverageOf(Interlocked.Read(ref _succeededLatencyTicks), Interlocked.Read(ref _succeeded)),
            };
        }
    }

    /// <summary>
    /// Stops accepting requests. With <paramref name="drain"/>, waits until every queued and running request
    /// has completed; without, fails the queued ones at once and waits only for running batches.
    /// </summary>
    public async Task StopAsync(bool drain = true, CancellationToken cancellationToken = default)
    {
        List<PendingRequest>? dropped = null;
        List<PendingRequest[]>? batches = null;
        Task waitFor;
        lock (_lock)
        {
            // Callers that count themselves after this see it (EnqueueAsync); the drain below (a full fence) takes the rest.
            Volatile.Write(ref _stopping, true);
            if (!drain)
            {
                _dropping = true;
                dropped = DropListed();
            }
            else
            {
                FormBatches(ref batches);
            }

            if (Volatile.Read(ref _count) == 0 && _running == 0)
            {
                waitFor = Task.CompletedTask;
            }
            else
            {
                _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                waitFor = _drained.Task;
            }
        }

        FailStopped(dropped);
        Dispatch(batches);
        await waitFor.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops without draining and releases the timer.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(drain: false).ConfigureAwait(false);
        _delayTimer.Dispose();
        _deadlineTimer.Dispose();
        lock (_lock)
        {
            ThreadPoolReservation.Change(-_reservedThreads);
            _reservedThreads = 0;
        }
    }

    // Under _lock: takes every batch that is ready while instances are free.
    private void FormBatches(ref List<PendingRequest[]>? batches)
    {
        DrainIntake();
        if (_dropping) return; // what slipped in after a stop without draining is failed by its own caller (EnqueueAsync)
        while (_running < _instances && _listed > 0)
        {
            var oldest = OldestTimestamp();
            if (!_stopping && _supportsBatching && _options.MaxQueueDelay > TimeSpan.Zero && _queuedRows < _options.MaxBatchSize)
            {
                var waited = _timeProvider.GetElapsedTime(oldest);
                if (waited < _options.MaxQueueDelay)
                {
                    if (!_timerArmed)
                    {
                        _timerArmed = true;
                        _delayTimer.Change(_options.MaxQueueDelay - waited, Timeout.InfiniteTimeSpan);
                    }

                    return;
                }
            }

            (batches ??= []).Add(TakeBatch());
            _running++;
        }
    }

    private long OldestTimestamp()
    {
        var oldest = long.MaxValue;
        foreach (var list in _lists)
        {
            if (list.Head is { } head && head.EnqueuedAt < oldest) oldest = head.EnqueuedAt;
        }

        return oldest;
    }

    // Under _lock: the highest-priority request and every compatible one behind it, up to MaxBatchSize rows.
    private PendingRequest[] TakeBatch()
    {
        PendingRequest head = null!;
        foreach (var list in _lists)
        {
            if (list.Head is not null)
            {
                head = list.TakeFirst()!;
                break;
            }
        }

        var rows = head.Rows;
        List<PendingRequest>? mates = null;
        if (_supportsBatching)
        {
            // Mates share the head's shape, so a cap on the elements of the largest input is a cap on rows.
            var maxRows = _options.MaxBatchElements is { } elements ? Math.Min(_options.MaxBatchSize, Math.Max(1, elements / head.ElementsPerRow)) : _options.MaxBatchSize;
            foreach (var list in _lists)
            {
                for (var node = list.Head; node is not null && rows < maxRows;)
                {
                    var next = node.Next;
                    if (node.ShapeKey == head.ShapeKey && rows + node.Rows <= maxRows && PendingRequest.AreStackable(head.Inputs, node.Inputs))
                    {
                        list.Remove(node);
                        (mates ??= []).Add(node);
                        rows += node.Rows;
                    }

                    node = next;
                }
            }
        }

        var batch = new PendingRequest[1 + (mates?.Count ?? 0)];
        batch[0] = head;
        for (var i = 1; i < batch.Length; i++) batch[i] = mates![i - 1];

        // A batch whose callers can all go away (timeout or cancellation) can be stopped in the backend.
        var abandonable = true;
        foreach (var r in batch) abandonable &= r.Deadline != long.MaxValue || r.CancellationToken.CanBeCanceled;
        var running = abandonable ? new RunningBatch(batch.Length) : null;
        foreach (var r in batch)
        {
            r.Batch = running;
            r.State = PendingRequest.Dispatched;
            if (r.Deadline != long.MaxValue)
            {
                _dispatched.Append(r);
                r.Tracked = true;
            }
        }

        _listed -= batch.Length;
        Interlocked.Add(ref _count, -batch.Length);
        _queuedRows -= rows;
        _metrics.QueueLength.Add(-batch.Length, _modelTag);
        return batch;
    }

    // On a thread-pool thread: the first batch that became ready runs here, without another hand-over.
    private void OnDelayElapsed()
    {
        List<PendingRequest[]>? batches = null;
        lock (_lock)
        {
            _timerArmed = false;
            FormBatches(ref batches);
        }

        if (KeepFirst(batches) is { } first) _ = RunBatchesAsync(first, keepRunning: true);
    }

    // Under _lock. The time the requests already waiting take to drain at the rate the queue has been measured to drain at
    // (requests finished per second while a backlog waited); before any measurement, from the average batch time.
    private TimeSpan EstimateRetryAfter()
    {
        double seconds;
        if (_drainPerSecond > 0)
        {
            seconds = Volatile.Read(ref _count) / _drainPerSecond;
        }
        else
        {
            var perBatch = _averageBatchSeconds > 0 ? _averageBatchSeconds : 0.05;
            var rows = Math.Max(_queuedRows, Volatile.Read(ref _count)); // the intake's requests are not in _queuedRows yet
            seconds = perBatch * Math.Ceiling(rows / (double)(_options.MaxBatchSize * Math.Max(1, _instances)));
        }

        return TimeSpan.FromSeconds(Math.Clamp(seconds, 0.05, 60));
    }

    // Under _lock, when a batch of `finished` requests ends: while requests wait, the time between two batch ends is set by
    // the queue's capacity (not by demand), so those intervals measure the drain rate.
    private void MeasureDrain(int finished)
    {
        var now = _timeProvider.GetTimestamp();
        if (_backlogFinishedAt != 0)
        {
            var seconds = (now - _backlogFinishedAt) / (double)_timeProvider.TimestampFrequency;
            if (seconds > 0)
            {
                var sample = finished / seconds;
                _drainPerSecond = _drainPerSecond == 0 ? sample : (0.8 * _drainPerSecond) + (0.2 * sample);
            }
        }

        _backlogFinishedAt = Volatile.Read(ref _count) > 0 ? now : 0;
    }
}
