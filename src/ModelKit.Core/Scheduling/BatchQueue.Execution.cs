using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelKit.Diagnostics;
using ModelKit.Tensors;

namespace ModelKit.Scheduling;

// Running batches: dispatch to the thread pool, the backend run, the one-by-one fallback, and the bookkeeping after.
internal sealed partial class BatchQueue
{
    // Each batch (from index `from` on) to a thread-pool thread of its own.
    private void Dispatch(List<PendingRequest[]>? batches, int from = 0)
    {
        if (batches is null) return;
        for (var i = from; i < batches.Count; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Queue.RunBatchesAsync(state.Batch, keepRunning: true), new BatchWork(this, batches[i]), preferLocal: false);
        }
    }

    private readonly record struct BatchWork(BatchQueue Queue, PendingRequest[] Batch);

    // A batch this short is worth waiting a turn of the thread pool for more requests (RunBatchesAsync); the MLP's batches
    // take tens of microseconds, an encoder's milliseconds.
    private static readonly TimeSpan ShortBatch = TimeSpan.FromMilliseconds(0.5);

    // Continues on the thread pool, behind the work already queued there, whatever context the awaiting code runs in
    // (unlike Task.Yield, which posts to a synchronization context where there is one).
    private readonly struct ThreadPoolYield : ICriticalNotifyCompletion
    {
        public bool IsCompleted => false;

        public ThreadPoolYield GetAwaiter() => this;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) =>
            ThreadPool.QueueUserWorkItem(static c => c(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) =>
            ThreadPool.UnsafeQueueUserWorkItem(static c => c(), continuation, preferLocal: false);
    }

    // The first of `batches`, for the calling thread to run; the others to the pool.
    private PendingRequest[]? KeepFirst(List<PendingRequest[]>? batches)
    {
        if (batches is not { Count: > 0 }) return null;
        Dispatch(batches, from: 1);
        return batches[0];
    }

    // Runs `batch`; with `keepRunning`, then runs on the same thread the next batch that became ready as it finished (the
    // others go to the pool), for as long as there is one: under load an instance keeps its thread instead of handing
    // every batch over to another. An inline run (on a caller's thread) runs its own batch only.
    private async Task RunBatchesAsync(PendingRequest[] batch, bool keepRunning)
    {
        for (PendingRequest[]? next = batch; next is not null;)
        {
            var started = _timeProvider.GetTimestamp();
            var healthy = true;
            try
            {
                await RunBatchAsync(next).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // RunBatchAsync completes its callers whatever happens; this is a bug of the queue's own. The bookkeeping
                // still runs, so that the instance is free again, and the next batches go to the pool.
                Log.BatchFailed(_logger, next.Length, Name, ex);
                healthy = false;
            }

            // The batch's callers were just completed: their continuations wait in this thread's local queue, and those
            // that send again will do so within microseconds. After a short batch, greedy batching would take the first of
            // them alone; instead this instance steps to the back of the pool's queue (still counted running, so the
            // callers push without the lock) and forms its next batch from what they sent meanwhile. After a long batch
            // the step would only leave the instance idle behind the pool's other work (a server's request parsing).
            var elapsed = _timeProvider.GetElapsedTime(started);
            if (keepRunning && healthy && next.Length > 1 && elapsed < ShortBatch) await new ThreadPoolYield();
            next = OnBatchFinished(next, elapsed, keepRunning && healthy);
        }
    }

    // Never throws: every outcome reaches the batch's callers.
    private async Task RunBatchAsync(PendingRequest[] batch)
    {
        try
        {
            var inputs = new IReadOnlyDictionary<string, Tensor>[batch.Length];
            for (var i = 0; i < batch.Length; i++) inputs[i] = batch[i].Inputs;
            _metrics.BatchSize.Record(batch.Length, _modelTag);
            IReadOnlyList<IReadOnlyDictionary<string, Tensor>> outputs;
            var token = batch[0].Batch?.Token ?? CancellationToken.None;
            try
            {
                outputs = await _executor.ExecuteAsync(inputs, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Every caller had gone; each was already completed with its timeout or cancellation.
                Interlocked.Increment(ref _terminated);
                Log.BatchTerminated(_logger, batch.Length, Name);
                return;
            }
            catch (Exception ex) when (batch.Length > 1 && ex is not OperationCanceledException && (ex is not ModelKitException || ex is InvalidInputException))
            {
                Log.BatchFailed(_logger, batch.Length, Name, ex);
                await RunOneByOneAsync(batch).ConfigureAwait(false);
                return;
            }

            if (outputs.Count != batch.Length)
            {
                throw new InferenceFailedException($"The backend returned {outputs.Count} results for a batch of {batch.Length} requests.");
            }

            var finished = _timeProvider.GetTimestamp();
            for (var i = 0; i < batch.Length; i++)
            {
                if (batch[i].Complete(outputs[i])) CountSucceeded(batch[i], finished);
            }
        }
        catch (Exception ex)
        {
            var error = Wrap(ex);
            foreach (var r in batch)
            {
                if (r.Fail(error)) Interlocked.Increment(ref _failed);
            }
        }
        finally
        {
            batch[0].Batch?.Dispose();
        }
    }

    // After a batch failed as a whole: each request alone, so that one bad request fails only itself. The batch's token
    // still stops the runs once every caller has gone.
    private async Task RunOneByOneAsync(PendingRequest[] batch)
    {
        var token = batch[0].Batch?.Token ?? CancellationToken.None;
        foreach (var r in batch)
        {
            if (r.Task.IsCompleted) continue; // timed out or cancelled meanwhile
            try
            {
                var outputs = await _executor.ExecuteAsync([r.Inputs], token).ConfigureAwait(false);
                if (r.Complete(outputs[0])) CountSucceeded(r, _timeProvider.GetTimestamp());
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                Interlocked.Increment(ref _terminated); // every caller had gone; each was completed with its own reason
                return;
            }
            catch (Exception ex)
            {
                if (r.Fail(Wrap(ex))) Interlocked.Increment(ref _failed);
            }
        }
    }

    // A request that returned outputs: counted, with its time from enqueue to outputs (the queue's average latency).
    private void CountSucceeded(PendingRequest request, long finished)
    {
        Interlocked.Increment(ref _succeeded);
        Interlocked.Add(ref _succeededLatencyTicks, _timeProvider.GetElapsedTime(request.EnqueuedAt, finished).Ticks);
    }

    private Exception Wrap(Exception ex) => ex is ModelKitException or OperationCanceledException
        ? ex
        : new InferenceFailedException($"Model '{Name}' failed to run: {ex.Message}", ex);

    // The bookkeeping after a batch; returns the next ready batch for this thread to run when `keepRunning` (the rest are dispatched).
    private PendingRequest[]? OnBatchFinished(PendingRequest[] batch, TimeSpan elapsed, bool keepRunning)
    {
        List<PendingRequest[]>? batches = null;
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            foreach (var r in batch)
            {
                if (r.Tracked)
                {
                    _dispatched.Remove(r);
                    r.Tracked = false;
                }
            }

            _running--;
            _batches++;
            _batchedRequests += batch.Length;
            _averageBatchSeconds = _averageBatchSeconds == 0 ? elapsed.TotalSeconds : (0.8 * _averageBatchSeconds) + (0.2 * elapsed.TotalSeconds);
            MeasureDrain(batch.Length);
            FormBatches(ref batches);
            drained = DrainedWaiter();
        }

        PendingRequest[]? next = null;
        if (keepRunning) next = KeepFirst(batches);
        else Dispatch(batches);
        drained?.TrySetResult();
        return next;
    }
}
