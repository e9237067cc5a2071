namespace ModelKit.Scheduling;

// Timeouts and cancellation: one deadline timer per queue; callers that leave a running batch.
internal sealed partial class BatchQueue
{
    // Under _lock: one timer per queue fires at the earliest deadline of the requests it is tracking.
    private void ArmDeadline(long deadline, long now)
    {
        Volatile.Write(ref _armedDeadline, deadline);
        var due = deadline == long.MaxValue
            ? Timeout.InfiniteTimeSpan
            : TimeSpan.FromSeconds(Math.Max(0, deadline - now) / (double)_timeProvider.TimestampFrequency);
        if (due != Timeout.InfiniteTimeSpan && due < TimeSpan.FromTicks(1)) due = TimeSpan.FromTicks(1);
        _deadlineTimer.Change(due, Timeout.InfiniteTimeSpan);
    }

    // Times out every queued or running request whose deadline has passed, then re-arms for the next one.
    private void OnDeadline()
    {
        List<PendingRequest>? queued = null;
        List<PendingRequest>? running = null;
        List<PendingRequest[]>? batches = null;
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            // Callers that push from here on see no timer armed for them and come in for one (EnqueueAsync); those that
            // pushed before are in the lists after the drain.
            Volatile.Write(ref _armedDeadline, long.MaxValue);
            DrainIntake();
            var now = _timeProvider.GetTimestamp();
            var next = long.MaxValue;
            foreach (var list in _lists)
            {
                for (var node = list.Head; node is not null;)
                {
                    var following = node.Next;
                    if (node.Deadline <= now)
                    {
                        list.Remove(node);
                        node.State = PendingRequest.Removed;
                        _listed--;
                        Interlocked.Decrement(ref _count);
                        _queuedRows -= node.Rows;
                        _metrics.QueueLength.Add(-1, _modelTag);
                        (queued ??= []).Add(node);
                    }
                    else if (node.Deadline < next)
                    {
                        next = node.Deadline;
                    }

                    node = following;
                }
            }

            for (var node = _dispatched.Head; node is not null;)
            {
                var following = node.Next;
                if (node.Deadline <= now)
                {
                    // The caller stops waiting now; the batch it is part of still finishes.
                    _dispatched.Remove(node);
                    node.Tracked = false;
                    (running ??= []).Add(node);
                }
                else if (node.Deadline < next)
                {
                    next = node.Deadline;
                }

                node = following;
            }

            ArmDeadline(next, now);
            FormBatches(ref batches); // the drain may have brought requests an idle instance can take
            if (queued is not null) drained = DrainedWaiter();
        }

        if (queued is not null)
        {
            foreach (var r in queued)
            {
                if (r.Fail(new InferenceTimeoutException($"The request to model '{Name}' did not complete within its timeout (it was still queued).")))
                {
                    Interlocked.Increment(ref _timedOut);
                }
            }
        }

        if (running is not null)
        {
            foreach (var r in running)
            {
                r.AbandonBatch(); // before the caller hears of it, so that the backend is told first
                if (r.Fail(new InferenceTimeoutException($"The request to model '{Name}' did not complete within its timeout.")))
                {
                    Interlocked.Increment(ref _timedOut);
                }
            }
        }

        Dispatch(batches);
        drained?.TrySetResult();
    }

    // Called by a request's timer or cancellation registration.
    private void Abort(PendingRequest request, bool timedOut)
    {
        bool removed;
        TaskCompletionSource? drained = null;
        List<PendingRequest[]>? batches = null;
        lock (_lock)
        {
            DrainIntake(); // the request may still be in the intake
            removed = request.State == PendingRequest.Queued;
            if (removed)
            {
                _lists[(int)request.Priority].Remove(request);
                request.State = PendingRequest.Removed;
                _listed--;
                Interlocked.Decrement(ref _count);
                _queuedRows -= request.Rows;
                _metrics.QueueLength.Add(-1, _modelTag);
                drained = DrainedWaiter();
            }

            FormBatches(ref batches); // the drain may have brought requests an idle instance can take
        }

        // A dispatched request's caller stops waiting too; its batch-mates are unaffected. When it was the last caller
        // of its running batch, the backend is told to stop before the caller hears of it.
        if (!removed) request.AbandonBatch();
        var completed = timedOut
            ? request.Fail(new InferenceTimeoutException($"The request to model '{Name}' did not complete within its timeout{(removed ? " (it was still queued)" : string.Empty)}."))
            : request.Cancel();
        Dispatch(batches);
        if (completed)
        {
            if (timedOut) Interlocked.Increment(ref _timedOut);
            else Interlocked.Increment(ref _cancelled);
        }

        drained?.TrySetResult();
    }
}
