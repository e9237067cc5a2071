using ModelKit.Diagnostics;

namespace ModelKit.Scheduling;

// The intake: callers push requests without the lock; whoever holds the lock moves them into the lists first. Also the
// paths that refuse a request or fail those that slipped in after a stop.
internal sealed partial class BatchQueue
{
    // Under _lock: forms the batches that are ready; with inline execution, when this is the only request and no batch
    // runs, returns its batch for the caller's thread to run instead of adding it to `batches`.
    private PendingRequest[]? FormBatchesOrInline(ref List<PendingRequest[]>? batches)
    {
        DrainIntake();
        var canInline = _options.InlineExecution && _running == 0 && _listed == 1;
        var before = batches?.Count ?? 0;
        FormBatches(ref batches);
        if (!canInline || batches is null || batches.Count != before + 1) return null;
        var single = batches[before];
        batches.RemoveAt(before);
        return single;
    }

    // Without the lock, after a push that found an instance free: one caller at a time takes the lock to start batches
    // (when an instance frees up, every caller finds it free at once; the others leave their requests in the intake). The
    // one that takes the lock looks at the intake again after letting go, so a request pushed while it held the lock is
    // not left behind while an instance is free.
    private PendingRequest[]? StartFreeInstances(ref List<PendingRequest[]>? batches)
    {
        PendingRequest[]? inline = null;
        var first = true;
        while (Interlocked.CompareExchange(ref _starting, 1, 0) == 0)
        {
            try
            {
                lock (_lock)
                {
                    if (first) inline = FormBatchesOrInline(ref batches);
                    else FormBatches(ref batches);
                }
            }
            finally
            {
                Interlocked.Exchange(ref _starting, 0);
            }

            first = false;
            if (Volatile.Read(ref _intake) is null || Volatile.Read(ref _running) >= Volatile.Read(ref _instances)) break;
        }

        return inline;
    }

    // Without the lock: a request joins the intake.
    private void Push(PendingRequest request)
    {
        var head = Volatile.Read(ref _intake);
        while (true)
        {
            request.NextIntake = head;
            var seen = Interlocked.CompareExchange(ref _intake, request, head);
            if (seen == head) return;
            head = seen;
        }
    }

    // Under _lock: the intake's requests join the lists in the order they came.
    private void DrainIntake()
    {
        var node = Interlocked.Exchange(ref _intake, null);
        if (node is null) return;
        PendingRequest? reversed = null;
        while (node is not null)
        {
            var next = node.NextIntake;
            node.NextIntake = reversed;
            reversed = node;
            node = next;
        }

        for (node = reversed; node is not null;)
        {
            var next = node.NextIntake;
            node.NextIntake = null;
            _lists[(int)node.Priority].Append(node);
            _listed++;
            _queuedRows += node.Rows;
            node = next;
        }
    }

    // Under _lock: takes every waiting request out of the intake and the lists (a stop without draining).
    private List<PendingRequest>? DropListed()
    {
        DrainIntake();
        if (_listed == 0) return null;
        var dropped = new List<PendingRequest>(_listed);
        foreach (var list in _lists)
        {
            while (list.TakeFirst() is { } r)
            {
                r.State = PendingRequest.Removed;
                dropped.Add(r);
            }
        }

        Interlocked.Add(ref _count, -dropped.Count);
        _metrics.QueueLength.Add(-dropped.Count, _modelTag);
        _listed = 0;
        _queuedRows = 0;
        return dropped;
    }

    // Without the lock: fails the requests a stop without draining took out of the queue.
    private void FailStopped(List<PendingRequest>? dropped)
    {
        if (dropped is null) return;
        foreach (var r in dropped)
        {
            r.Fail(new ModelKitConflictException($"Model '{Name}' was stopped before the request ran."));
        }

        SignalIfDrained();
    }

    // Without the lock: takes back the count of a request that was refused before it was pushed; a stop may be waiting for it.
    private void Uncount()
    {
        Interlocked.Decrement(ref _count);
        if (Volatile.Read(ref _stopping)) SignalIfDrained();
    }

    // Under _lock: the wait of StopAsync to complete now that nothing is queued or running; null while something is, or
    // when no stop waits.
    private TaskCompletionSource? DrainedWaiter() => _stopping && _running == 0 && Volatile.Read(ref _count) == 0 ? _drained : null;

    // Without the lock: completes StopAsync's wait once nothing is queued or running.
    private void SignalIfDrained()
    {
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            drained = DrainedWaiter();
        }

        drained?.TrySetResult();
    }

    // A full queue: counted, logged, and the exception with when to retry.
    private QueueFullException Reject()
    {
        TimeSpan retryAfter;
        lock (_lock)
        {
            _rejected++;
            Interlocked.Decrement(ref _count); // before the estimate: the refused request is not one of those waiting
            retryAfter = EstimateRetryAfter();
        }

        if (Volatile.Read(ref _stopping)) SignalIfDrained(); // a stop may have been waiting for its count

        _metrics.QueueRejections.Add(1, _modelTag);
        Log.QueueFull(_logger, Name, _options.MaxQueueSize);
        return new QueueFullException(
            $"The queue of model '{Name}' is full ({_options.MaxQueueSize} requests waiting); retry later.", retryAfter);
    }
}
