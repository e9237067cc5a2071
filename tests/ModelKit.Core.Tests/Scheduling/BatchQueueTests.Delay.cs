using Microsoft.Extensions.Time.Testing;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Tests.Scheduling;

// The batch delay and its timer: waiting for batch-mates, the batches the timer forms, and the context they run in.
public sealed partial class BatchQueueTests
{
    [Fact]
    public async Task EnqueueAsync_WithQueueDelay_WaitsForBatchMatesUntilTheDelay()
    {
        var time = new FakeTimeProvider();
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(10) }, time);
        var a = queue.EnqueueAsync(Rows(1));
        var b = queue.EnqueueAsync(Rows(2));
        time.Advance(TimeSpan.FromMilliseconds(9));
        // The queue decides dispatch synchronously (on enqueue and in its timer): nothing was taken yet.
        Assert.Equal((2, 0), (queue.Count, queue.GetStats().Running));
        time.Advance(TimeSpan.FromMilliseconds(1));
        await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([[1, 1]], _backend.Batches.ToArray());
    }

    [Fact]
    public async Task EnqueueAsync_WithQueueDelay_FullBatchRunsWithoutWaiting()
    {
        var time = new FakeTimeProvider();
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 2, MaxQueueDelay = TimeSpan.FromSeconds(5) }, time);
        var a = queue.EnqueueAsync(Rows(1));
        var b = queue.EnqueueAsync(Rows(2));
        await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([[1, 1]], _backend.Batches.ToArray());
    }

    [Fact]
    public async Task DelayTimer_FormingSeveralBatches_RunsThemAll_AndFreesItsInstances()
    {
        var time = new FakeTimeProvider();
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, Instances = 2, MaxQueueDelay = TimeSpan.FromMilliseconds(10) }, time);
        var a = queue.EnqueueAsync(Rows(1));
        var odd = queue.EnqueueAsync(new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new float[] { 1, 2, 3 }, 1, 3) });
        var b = queue.EnqueueAsync(Rows(2));
        time.Advance(TimeSpan.FromMilliseconds(10)); // the timer forms two batches (two shapes): it runs one, the pool the other
        await Task.WhenAll(a, odd, b).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([[1], [1, 1]], _backend.Batches.Order(Comparer<int[]>.Create((x, y) => x.Length.CompareTo(y.Length))).ToArray());
        for (var i = 0; i < 100 && queue.GetStats().Running != 0; i++) await Task.Delay(10);
        Assert.Equal((0, 0, 2L), (queue.GetStats().Running, queue.Count, queue.GetStats().Batches));
    }

    [Fact]
    public async Task BatchesRunByTheDelayTimer_DoNotRunInTheContextOfWhoeverCreatedTheQueue()
    {
        var seen = new List<string?>();
        var executor = new ContextRecordingExecutor(_executor, seen);
        s_context.Value = "the request that created the queue";
        var queue = new BatchQueue("m", new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(5) }, supportsBatching: true, executor);
        await using (queue)
        {
            s_context.Value = null;
            await queue.EnqueueAsync(Rows(1)).WaitAsync(TimeSpan.FromSeconds(10)); // alone: it waits for the delay, and the timer runs it
            Assert.Equal([null], seen);
        }
    }

    private static readonly AsyncLocal<string?> s_context = new();

    private sealed class ContextRecordingExecutor(IBatchExecutor inner, List<string?> seen) : IBatchExecutor
    {
        public ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> ExecuteAsync(
            IReadOnlyList<IReadOnlyDictionary<string, Tensor>> batch, CancellationToken cancellationToken = default)
        {
            lock (seen) seen.Add(s_context.Value);
            return inner.ExecuteAsync(batch, cancellationToken);
        }
    }
}
