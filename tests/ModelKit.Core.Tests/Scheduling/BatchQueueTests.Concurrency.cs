using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Tests.Scheduling;

// Callers on many threads at once: requests join the queue without its lock while instances are busy, so these tests look
// for requests left behind (a task that never ends), answers swapped between callers, and counts that do not add up.
public sealed partial class BatchQueueTests
{
    private const int Threads = 8;

    // Callers hear of their outputs before the queue counts the instance free again: wait for the bookkeeping.
    private static async Task<BatchQueueStats> SettledStatsAsync(BatchQueue queue)
    {
        for (var i = 0; i < 500 && queue.GetStats().Running > 0; i++) await Task.Delay(10);
        return queue.GetStats();
    }

    // Each thread sends its requests one after another (a closed loop, as a server's connections do) and checks that
    // every answer is its own request's.
    private static Task<int>[] CloseLoops(BatchQueue queue, int requestsPerThread, Func<int, TimeSpan?> timeoutOf, Func<int, CancellationToken>? tokenOf = null) =>
        Enumerable.Range(0, Threads).Select(t => Task.Run(async () =>
        {
            var answered = 0;
            for (var i = 0; i < requestsPerThread; i++)
            {
                var value = (t * 100_000) + i;
                try
                {
                    var outputs = await queue.EnqueueAsync(Rows(value), timeout: timeoutOf(i), cancellationToken: tokenOf?.Invoke(i) ?? default);
                    Assert.Equal(2f * value, outputs["y"].AsSpan<float>()[0]);
                    answered++;
                }
                catch (OperationCanceledException) when (tokenOf is not null)
                {
                    // a cancelled request: counted by the queue, not answered
                }
            }

            return answered;
        })).ToArray();

    [Fact]
    public async Task EnqueueAsync_ClosedLoopsOnManyThreads_EveryCallerGetsItsOwnAnswer_AndTheCountsAddUp()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 16, Instances = 2 });
        await _cache.PreloadAsync(Key, _load);
        const int perThread = 3000;
        var loops = CloseLoops(queue, perThread, i => i % 2 == 0 ? TimeSpan.FromMinutes(1) : null);
        var answered = await Task.WhenAll(loops).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(answered, n => Assert.Equal(perThread, n));
        var stats = await SettledStatsAsync(queue);
        Assert.Equal(Threads * perThread, stats.Enqueued);
        Assert.Equal(Threads * perThread, stats.Succeeded);
        Assert.Equal((0, 0, 0L, 0L), (stats.QueueLength, stats.Running, stats.Failed, stats.TimedOut));
        Assert.Equal(Threads * perThread, _backend.Batches.Sum(b => b.Sum()));
    }

    [Fact]
    public async Task EnqueueAsync_CancelledAndAnsweredMixedOnManyThreads_NothingIsLeftBehind()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, Instances = 2 });
        await _cache.PreloadAsync(Key, _load);
        const int perThread = 1500;
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        using var never = new CancellationTokenSource();

        // Every fifth request is cancelled before it is sent; every fifth + 1 from another thread at about the time it is
        // sent (before it joins, while it waits, or while it runs).
        var late = new List<CancellationTokenSource>();
        CancellationToken TokenOf(int i)
        {
            switch (i % 5)
            {
                case 0:
                    return cancelled.Token;
                case 1:
                    var source = new CancellationTokenSource();
                    lock (late) late.Add(source);
                    ThreadPool.UnsafeQueueUserWorkItem(static s => s.Cancel(), source, preferLocal: false);
                    return source.Token;
                default:
                    return never.Token;
            }
        }

        var answered = await Task.WhenAll(CloseLoops(queue, perThread, _ => TimeSpan.FromMinutes(1), TokenOf)).WaitAsync(TimeSpan.FromSeconds(60));

        // Counted after each caller hears: wait for the counts to catch up with the answers.
        var stats = queue.GetStats();
        for (var i = 0; i < 500 && (stats.Running > 0 || stats.Succeeded + stats.Cancelled != stats.Enqueued); i++)
        {
            await Task.Delay(10);
            stats = queue.GetStats();
        }

        Assert.Equal((0, 0), (stats.QueueLength, stats.Running));
        Assert.Equal(answered.Sum(), stats.Succeeded);
        // Those cancelled before sending never joined (and a late cancellation may come before the call too).
        Assert.InRange(stats.Enqueued, Threads * perThread * 3 / 5, Threads * perThread * 4 / 5);
        Assert.Equal(stats.Enqueued, stats.Succeeded + stats.Cancelled);
        Assert.True(answered.Sum() >= Threads * perThread * 3 / 5, $"at least the requests never cancelled were answered: {answered.Sum()}");
        lock (late) late.ForEach(s => s.Dispose());
    }

    [Fact]
    public async Task EnqueueAsync_ShortTimeoutsBehindABlockedInstance_EveryOneTimesOut()
    {
        // One instance held in the backend: every request waits in the queue, most of them pushed without the lock because
        // a timer is already armed for an earlier deadline. Each must still time out.
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 4, Instances = 1 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        try
        {
            var waiting = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
                Enumerable.Range(0, 100).Select(i => queue.EnqueueAsync(Rows(i), timeout: TimeSpan.FromMilliseconds(20 + ((i * 7) % 200)))).ToArray()))
                .ToArray();
            var requests = (await Task.WhenAll(waiting)).SelectMany(r => r).ToArray();

            await Task.WhenAll(requests.Select(r => Assert.ThrowsAsync<InferenceTimeoutException>(() => r))).WaitAsync(TimeSpan.FromSeconds(30));
            for (var i = 0; i < 500 && queue.GetStats().TimedOut < requests.Length; i++) await Task.Delay(10); // counted after the caller hears
            Assert.Equal((0, (long)requests.Length), (queue.Count, queue.GetStats().TimedOut));
        }
        finally
        {
            Release();
        }

        await first;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task StopAsync_WhileThreadsEnqueue_EveryAcceptedRequestHasEndedWhenItReturns(bool drain)
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, Instances = 2, MaxQueueSize = 256 });
        await _cache.PreloadAsync(Key, _load);
        var sent = new System.Collections.Concurrent.ConcurrentQueue<Task<IReadOnlyDictionary<string, Tensor>>>();
        using var started = new CountdownEvent(Threads);
        var senders = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            started.Signal();
            for (var i = 0; ; i++)
            {
                Task<IReadOnlyDictionary<string, Tensor>> request;
                try
                {
                    request = queue.EnqueueAsync(Rows(i), timeout: TimeSpan.FromMinutes(1));
                }
                catch (ModelKitConflictException)
                {
                    return; // stopped
                }
                catch (QueueFullException)
                {
                    Thread.Sleep(1); // the instances are behind; the stop comes meanwhile
                    continue;
                }

                sent.Enqueue(request);
            }
        })).ToArray();

        Assert.True(started.Wait(TimeSpan.FromSeconds(10)));
        await Task.Delay(50);
        await queue.StopAsync(drain).WaitAsync(TimeSpan.FromSeconds(30));
        var pending = sent.Count(r => !r.IsCompleted); // among those accepted before StopAsync returned
        await Task.WhenAll(senders).WaitAsync(TimeSpan.FromSeconds(30));

        // Whatever was accepted had ended when StopAsync returned: answered, or (without draining) refused.
        Assert.Equal(0, pending);
        Assert.All(sent, r => Assert.True(r.IsCompleted, "a request accepted after the stop was left waiting"));
        Assert.Contains(sent, r => r.IsCompletedSuccessfully);
        if (drain) Assert.All(sent, r => Assert.True(r.IsCompletedSuccessfully, r.Exception?.InnerException?.Message));
        else Assert.All(sent.Where(r => !r.IsCompletedSuccessfully), r => Assert.IsType<ModelKitConflictException>(r.Exception?.InnerException));
        Assert.Equal(0, queue.Count);
    }
}
