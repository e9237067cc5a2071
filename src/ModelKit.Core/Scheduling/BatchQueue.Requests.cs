using ModelKit.Tensors;

namespace ModelKit.Scheduling;

// The queued requests: the priority lists, a request, and the callers of a running batch.
internal sealed partial class BatchQueue
{
    // The callers of a dispatched batch still waiting; when the last one goes, the backend run is cancelled.
    private sealed class RunningBatch(int callers) : CancellationTokenSource
    {
        private int _waiting = callers;

        public void Abandon()
        {
            if (Interlocked.Decrement(ref _waiting) != 0) return;
            try
            {
                Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The batch finished meanwhile.
            }
        }
    }

    private sealed class PendingList
    {
        public PendingRequest? Head;
        public PendingRequest? Tail;

        public void Append(PendingRequest r)
        {
            r.Prev = Tail;
            r.Next = null;
            if (Tail is null) Head = r;
            else Tail.Next = r;
            Tail = r;
        }

        public PendingRequest? TakeFirst()
        {
            var r = Head;
            if (r is not null) Remove(r);
            return r;
        }

        public void Remove(PendingRequest r)
        {
            if (r.Prev is null) Head = r.Next;
            else r.Prev.Next = r.Next;
            if (r.Next is null) Tail = r.Prev;
            else r.Next.Prev = r.Prev;
            r.Prev = r.Next = null;
        }
    }

    private sealed class PendingRequest : TaskCompletionSource<IReadOnlyDictionary<string, Tensor>>
    {
        public const int Queued = 0;
        public const int Dispatched = 1;
        public const int Removed = 2;

        private readonly BatchQueue _queue;

        public PendingRequest(BatchQueue queue, IReadOnlyDictionary<string, Tensor> inputs, RequestPriority priority, long enqueuedAt)
            : base(TaskCreationOptions.RunContinuationsAsynchronously)
        {
            _queue = queue;
            Inputs = inputs;
            Priority = priority;
            EnqueuedAt = enqueuedAt;
            long key = 0;
            long rows = 1;
            long perRow = 1;
            foreach (var (name, tensor) in inputs)
            {
                var hash = new HashCode();
                hash.Add(name);
                hash.Add(tensor.ElementType);
                var shape = tensor.Shape;
                hash.Add(shape.Length);
                long elements = 1;
                for (var d = 1; d < shape.Length; d++)
                {
                    hash.Add(shape[d]);
                    elements *= shape[d];
                }

                key += hash.ToHashCode();
                rows = tensor.BatchSize;
                perRow = Math.Max(perRow, elements);
            }

            ShapeKey = key;
            Rows = rows;
            ElementsPerRow = perRow;
        }

        public IReadOnlyDictionary<string, Tensor> Inputs { get; }
        public RequestPriority Priority { get; }
        public long EnqueuedAt { get; }
        public long ShapeKey { get; }
        public long Rows { get; }

        /// <summary>The elements one row of the largest input holds (a text's padded length for a text encoder).</summary>
        public long ElementsPerRow { get; }
        public int State;
        public PendingRequest? Prev;
        public PendingRequest? Next;
        public PendingRequest? NextIntake; // the intake's link (BatchQueue.Push)
        public long Deadline = long.MaxValue;
        public bool Tracked;
        public RunningBatch? Batch;
        private int _abandoned;
        public CancellationTokenRegistration Registration;
        public CancellationToken CancellationToken;

        public static bool AreStackable(IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> b)
        {
            if (a.Count != b.Count) return false;
            foreach (var (name, x) in a)
            {
                if (!b.TryGetValue(name, out var y) || x.ElementType != y.ElementType) return false;
                var sx = x.Shape;
                var sy = y.Shape;
                if (sx.Length != sy.Length || sx.Length == 0 || !sx[1..].SequenceEqual(sy[1..])) return false;
            }

            return true;
        }

        public void Abort(bool timedOut) => _queue.Abort(this, timedOut);

        // Each caller leaves its running batch at most once (a timeout and a cancellation may both fire). A request
        // that already has its outputs leaves a batch that has finished, which changes nothing.
        public void AbandonBatch()
        {
            if (Batch is { } batch && Interlocked.Exchange(ref _abandoned, 1) == 0) batch.Abandon();
        }

        public bool Complete(IReadOnlyDictionary<string, Tensor> outputs)
        {
            if (!TrySetResult(outputs)) return false;
            Cleanup();
            return true;
        }

        public bool Fail(Exception error)
        {
            if (!TrySetException(error)) return false;
            Cleanup();
            return true;
        }

        public bool Cancel()
        {
            if (!TrySetCanceled(CancellationToken)) return false;
            Cleanup();
            return true;
        }

        public void Cleanup()
        {
            Registration.Dispose();
        }
    }
}
