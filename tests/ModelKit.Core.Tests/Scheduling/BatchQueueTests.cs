using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Diagnostics;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Tests.Scheduling;

public sealed partial class BatchQueueTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();
    private readonly ModelCache _cache;
    private readonly IBatchExecutor _executor;
    private readonly ModelLoadRequest _load;
    private static readonly ModelCacheKey Key = new("m", "1", ExecutionDevice.Cpu);

    public BatchQueueTests()
    {
        _cache = new ModelCache(Options.Create(new ModelCacheOptions()), [_backend]);
        var path = _dir.Combine("m.bin");
        File.WriteAllText(path, "model");
        _load = new ModelLoadRequest(path);
        _executor = new LeaseExecutor(_cache, Key, _load);
    }

    private BatchQueue CreateQueue(BatchingOptions options, TimeProvider? time = null, ModelKitMetrics? metrics = null) =>
        new("m", options, supportsBatching: true, _executor, time, metrics);

    private static Dictionary<string, Tensor> Rows(params float[] firstValues)
    {
        var data = new float[firstValues.Length * 2];
        for (var i = 0; i < firstValues.Length; i++)
        {
            data[2 * i] = firstValues[i];
            data[(2 * i) + 1] = firstValues[i] + 0.5f;
        }

        return new Dictionary<string, Tensor> { ["x"] = Tensor.Create(data, firstValues.Length, 2) };
    }

    // Holds the first batch in the backend so that later requests pile up behind it.
    private async Task<Task<IReadOnlyDictionary<string, Tensor>>> BlockWithFirstRequestAsync(BatchQueue queue)
    {
        _backend.RunGate = new SemaphoreSlim(0);
        var first = queue.EnqueueAsync(Rows(0));
        Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)));
        return first;
    }

    private void Release() => _backend.RunGate!.Release(1000);

    [Fact]
    public async Task EnqueueAsync_RequestsWaitingBehindARun_AreMergedIntoOneBatch()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 32 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var waiting = Enumerable.Range(1, 5).Select(i => queue.EnqueueAsync(Rows(i))).ToArray();
        Release();
        var results = await Task.WhenAll(waiting);

        Assert.Equal([[1], [1, 1, 1, 1, 1]], _backend.Batches.ToArray());
        for (var i = 0; i < results.Length; i++)
        {
            Assert.Equal([2f * (i + 1), (2f * (i + 1)) + 1f], results[i]["y"].ToArray<float>());
        }

        await first;
    }

    [Fact]
    public async Task EnqueueAsync_MoreRowsThanMaxBatchSize_SplitsIntoBatchesOfAtMostMax()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 4 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var waiting = new[] { queue.EnqueueAsync(Rows(1, 2)), queue.EnqueueAsync(Rows(3, 4, 5)), queue.EnqueueAsync(Rows(6)), queue.EnqueueAsync(Rows(7)) };
        Release();
        await Task.WhenAll(waiting);
        await first;
        var batches = _backend.Batches.ToArray();
        Assert.All(batches, b => Assert.True(b.Sum() <= 4, $"batch of {b.Sum()} rows"));
        Assert.Equal(8, batches.Sum(b => b.Sum()));
        Assert.Equal(5, batches.Sum(b => b.Length));
    }

    [Fact]
    public async Task EnqueueAsync_MaxBatchElements_CapsTheRowsOfAMergedBatch()
    {
        // Rows of 2 elements, at most 6 elements per batch: batches of at most 3 rows, though MaxBatchSize allows 32.
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 32, MaxBatchElements = 6 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var waiting = new[] { queue.EnqueueAsync(Rows(1)), queue.EnqueueAsync(Rows(2, 3)), queue.EnqueueAsync(Rows(4)), queue.EnqueueAsync(Rows(5)), queue.EnqueueAsync(Rows(6, 7, 8, 9)) };
        Release();
        var results = await Task.WhenAll(waiting);
        await first;

        // The 4-row request is over the cap: it still runs, alone.
        Assert.Equal([[1], [1, 2], [1, 1], [4]], _backend.Batches.ToArray());
        Assert.Equal([18f, 19f], results[4]["y"].ToArray<float>()[6..]);
        Assert.Throws<InvalidModelConfigException>(() => new BatchingOptions { MaxBatchElements = 0 }.Validate());
    }

    [Fact]
    public async Task EnqueueAsync_HighPriority_RunsBeforeEarlierNormalAndLow()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 1 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var low = queue.EnqueueAsync(Rows(30), RequestPriority.Low);
        var normal = queue.EnqueueAsync(Rows(20));
        var high = queue.EnqueueAsync(Rows(10), RequestPriority.High);
        Release();
        await Task.WhenAll(low, normal, high, first);
        Assert.Equal([0f, 10f, 20f, 30f], _backend.RunOrder.ToArray());
    }

    [Fact]
    public async Task EnqueueAsync_FannedOutFromOneThread_IsBatchedByDefault()
    {
        _backend.RunGate = new SemaphoreSlim(0);
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8 });
        var calls = Enumerable.Range(1, 8).Select(i => queue.EnqueueAsync(Rows(i))).ToArray(); // one thread, no awaits between
        Assert.All(calls, c => Assert.False(c.IsCompleted));
        Release();
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(_backend.Batches.Count < 8, "requests were merged: " + string.Join(" | ", _backend.Batches.Select(b => b.Length)));
        Assert.Equal(8, _backend.Batches.Sum(b => b.Length));
    }

    [Fact]
    public async Task EnqueueAsync_InlineExecution_RunsALoneRequestOnTheCallersThread()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, InlineExecution = true });
        await _cache.PreloadAsync(Key, _load); // loaded: from here a run needs no await
        var call = queue.EnqueueAsync(Rows(3));
        Assert.True(call.IsCompletedSuccessfully); // ran before EnqueueAsync returned
        Assert.Equal(6f, (await call)["y"].AsSpan<float>()[0]);
    }

    [Fact]
    public async Task EnqueueAsync_TimeoutWhileQueued_FailsWithInferenceTimeoutAndNeverRuns()
    {
        var time = new FakeTimeProvider();
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromSeconds(1) }, time);
        var request = queue.EnqueueAsync(Rows(1), timeout: TimeSpan.FromMilliseconds(100));
        time.Advance(TimeSpan.FromMilliseconds(100));
        var error = await Assert.ThrowsAsync<InferenceTimeoutException>(() => request);
        Assert.Equal(ModelKitErrorCodes.InferenceTimeout, error.ErrorCode);
        time.Advance(TimeSpan.FromSeconds(2)); // past the queue delay: a batch would be taken now, synchronously
        Assert.Equal((0, 0L), (queue.GetStats().Running, queue.GetStats().Batches));
        Assert.Empty(_backend.Batches);
        Assert.Equal(0, queue.Count);
        Assert.Equal(1, queue.GetStats().TimedOut);
    }

    [Fact]
    public async Task EnqueueAsync_TimeoutWhileRunning_FailsOnlyThatCaller_AndLaterDeadlinesStillFire()
    {
        var time = new FakeTimeProvider();
        _backend.RunGate = new SemaphoreSlim(0);
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromSeconds(10) }, time);
        var patient = queue.EnqueueAsync(Rows(1), timeout: TimeSpan.FromSeconds(30));
        var hasty = queue.EnqueueAsync(Rows(2), timeout: TimeSpan.FromSeconds(3)); // an earlier deadline re-arms the timer
        var queued = queue.EnqueueAsync(Rows(3), timeout: TimeSpan.FromSeconds(20));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(hasty.IsCompleted);

        // The first batch starts once the queue delay is over; it holds all three requests.
        time.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal((3, 0), (queue.Count, queue.GetStats().Running)); // dispatch is decided synchronously: none yet
        time.Advance(TimeSpan.FromSeconds(0.5)); // t = 3 s: the hasty caller gives up while still queued
        await Assert.ThrowsAsync<InferenceTimeoutException>(() => hasty).WaitAsync(TimeSpan.FromSeconds(10));
        time.Advance(TimeSpan.FromSeconds(7)); // t = 10 s: the batch of the two others starts and blocks
        Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)));
        time.Advance(TimeSpan.FromSeconds(10)); // t = 20 s: the 20 s caller gives up while its batch runs
        var error = await Assert.ThrowsAsync<InferenceTimeoutException>(() => queued).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain("still queued", error.Message, StringComparison.Ordinal);
        Assert.False(patient.IsCompleted);

        _backend.RunGate.Release(10);
        Assert.Equal(2f, (await patient.WaitAsync(TimeSpan.FromSeconds(10)))["y"].AsSpan<float>()[0]);
        Assert.Equal([[1, 1]], _backend.Batches.ToArray());
        Assert.Equal(2, queue.GetStats().TimedOut);
        Assert.Equal(0, _backend.TerminatedRuns); // one caller still waited: the run went on
        Assert.Equal(0, queue.GetStats().Terminated);
        time.Advance(TimeSpan.FromSeconds(30)); // nothing left to time out
        Assert.Equal(2, queue.GetStats().TimedOut);
    }

    [Fact]
    public async Task EnqueueAsync_OneCallerOfARunningBatchGone_TheRunGoesOnForTheOther()
    {
        var time = new FakeTimeProvider();
        _backend.RunGate = new SemaphoreSlim(0);
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromSeconds(1) }, time);
        using var disconnect = new CancellationTokenSource();
        // The leaving caller both disconnects and times out: it must leave its batch once, not twice.
        var leaves = queue.EnqueueAsync(Rows(1), timeout: TimeSpan.FromSeconds(5), cancellationToken: disconnect.Token);
        var stays = queue.EnqueueAsync(Rows(2), timeout: TimeSpan.FromSeconds(60));
        time.Advance(TimeSpan.FromSeconds(1)); // the batch of both starts and blocks in the backend
        Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)));

        await disconnect.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaves);
        time.Advance(TimeSpan.FromSeconds(5)); // its deadline passes too
        _backend.RunGate.Release(10);
        Assert.Equal(4f, (await stays.WaitAsync(TimeSpan.FromSeconds(10)))["y"].AsSpan<float>()[0]); // the run finished for the one left
        Assert.Equal(0, _backend.TerminatedRuns);
        Assert.Equal((0L, 1L, 1L), (queue.GetStats().Terminated, queue.GetStats().Cancelled, queue.GetStats().Succeeded));
    }

    [Fact]
    public async Task EnqueueAsync_EveryCallerOfARunningBatchGone_CancelsTheRunInTheBackend()
    {
        var time = new FakeTimeProvider();
        _backend.RunGate = new SemaphoreSlim(0);
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromSeconds(1) }, time);
        using var disconnect = new CancellationTokenSource();
        var timesOut = queue.EnqueueAsync(Rows(1), timeout: TimeSpan.FromSeconds(5));
        var leaves = queue.EnqueueAsync(Rows(2), cancellationToken: disconnect.Token);
        time.Advance(TimeSpan.FromSeconds(1)); // the batch of both starts and blocks in the backend
        Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)));

        await disconnect.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaves);
        time.Advance(TimeSpan.FromSeconds(5));
        await Assert.ThrowsAsync<InferenceTimeoutException>(() => timesOut);

        await queue.StopAsync(drain: true).WaitAsync(TimeSpan.FromSeconds(10)); // returns once the batch has ended, without the gate
        Assert.Equal(1, _backend.TerminatedRuns);
        var stats = queue.GetStats();
        Assert.Equal(1, stats.Terminated);
        Assert.Equal(0, stats.Failed);
        Assert.Equal(0, stats.Running);
    }

    [Fact]
    public async Task EnqueueAsync_RunCancelledBecauseItsCallersLeft_TheQueueServesOn()
    {
        _backend.RunGate = new SemaphoreSlim(0);
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 1 });
        using var disconnect = new CancellationTokenSource();
        var leaves = queue.EnqueueAsync(Rows(1), cancellationToken: disconnect.Token);
        Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)));
        await disconnect.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaves);

        _backend.RunGate.Release(10);
        var next = await queue.EnqueueAsync(Rows(4)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(8f, next["y"].AsSpan<float>()[0]);
        Assert.Equal(1, _backend.TerminatedRuns);
        Assert.Equal(1, queue.GetStats().Terminated);
    }

    [Fact]
    public async Task BlockingRuns_OnEveryInstance_DoNotStarveTheThreadPool_SoTimeoutsStillFire()
    {
        // A backend blocks its thread for the whole run (ONNX Runtime does, in native code). With more instances than
        // the thread pool has threads, the deadline timer and every continuation would wait for the pool to grow.
        // The pool's own growth (about a thread per half second) would take over 4 s here; the bounds below are far
        // above what a 50 ms timeout needs and far below that. The checks wait on handles, not on the pool, so that a
        // starved pool fails them instead of hanging.
        _backend.RunGate = new SemaphoreSlim(0);
        ThreadPool.GetMinThreads(out var poolThreads, out _);
        var instances = poolThreads + 8;
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 1, Instances = instances });
        var blocked = Enumerable.Range(0, instances).Select(i => queue.EnqueueAsync(Rows(i))).ToArray();
        try
        {
            var started = Stopwatch.StartNew();
            for (var i = 0; i < instances; i++) Assert.True(_backend.RunStarted.Wait(TimeSpan.FromSeconds(10)), $"only {i} of {instances} runs started");
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(2), $"{instances} runs took {started.Elapsed.TotalSeconds:F1} s to start");
            var late = queue.EnqueueAsync(Rows(99), timeout: TimeSpan.FromMilliseconds(50));
            Assert.True(((IAsyncResult)late).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(2)), "the 50 ms timeout did not fire within 2 s");
            await Assert.ThrowsAsync<InferenceTimeoutException>(() => late);
            Assert.True(((IAsyncResult)Task.Run(() => { })).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(2)), "a thread-pool work item did not run within 2 s");
        }
        finally
        {
            Release();
        }

        await Task.WhenAll(blocked).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(instances, _backend.Batches.Count);
    }

    [Fact]
    public void Stats_Sum_AddsCountersAndWeighsTheAverageBatchSizeByRuns()
    {
        var total = BatchQueueStats.Sum(
        [
            new BatchQueueStats { QueueLength = 1, Running = 1, Instances = 2, Enqueued = 10, Succeeded = 8, Failed = 1, TimedOut = 1, Rejected = 3, Batches = 2, AverageBatchSize = 4 },
            new BatchQueueStats { QueueLength = 2, Instances = 1, Enqueued = 5, Succeeded = 5, Cancelled = 2, Batches = 6, AverageBatchSize = 1 },
        ]);
        Assert.Equal((3, 1, 3, 15L, 13L, 1L, 1L, 2L, 3L, 8L), (total.QueueLength, total.Running, total.Instances, total.Enqueued, total.Succeeded, total.Failed, total.TimedOut, total.Cancelled, total.Rejected, total.Batches));
        Assert.Equal((4.0 * 2 + 1.0 * 6) / 8, total.AverageBatchSize, 10);
        Assert.Equal(0, BatchQueueStats.Sum([]).AverageBatchSize);
    }

    [Fact]
    public async Task QueueFull_RetryAfter_IsTheWaitingRequestsOverTheMeasuredDrainRate()
    {
        // One request per batch, each batch ending 100 ms after the previous one while others wait: 10 requests per second.
        var time = new FakeTimeProvider();
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 1, MaxQueueSize = 4 }, time);
        var running = new List<Task<IReadOnlyDictionary<string, Tensor>>> { await Task.Run(() => BlockWithFirstRequestAsync(queue)) };
        try
        {
            for (var i = 1; i <= 4; i++) running.Add(queue.EnqueueAsync(Rows(i)));
            for (var i = 0; i < 4; i++)
            {
                time.Advance(TimeSpan.FromMilliseconds(100));
                _backend.RunGate!.Release(1);
                Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10))); // the next waiting request runs
            }

            for (var i = 5; i <= 8; i++) running.Add(queue.EnqueueAsync(Rows(i)));
            var full = await Assert.ThrowsAsync<QueueFullException>(() => queue.EnqueueAsync(Rows(9)));
            Assert.Equal(0.4, full.RetryAfter.TotalSeconds, 3); // 4 waiting at 10 per second
        }
        finally
        {
            Release(); // also when an assertion failed: the queue's disposal waits for the held run
        }

        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void Stats_Sum_WeighsTheAverageLatencyBySucceededRequests()
    {
        var total = BatchQueueStats.Sum(
        [
            new BatchQueueStats { Succeeded = 3, AverageLatency = TimeSpan.FromMilliseconds(10) },
            new BatchQueueStats { Succeeded = 1, AverageLatency = TimeSpan.FromMilliseconds(50) },
            new BatchQueueStats { Failed = 4 },
        ]);
        Assert.Equal(TimeSpan.FromMilliseconds(20), total.AverageLatency);
        Assert.Equal(TimeSpan.Zero, BatchQueueStats.Sum([]).AverageLatency);
    }

    [Fact]
    public async Task Stats_AverageLatency_IsTheMeanTimeFromEnqueueToOutputs()
    {
        var time = new FakeTimeProvider();
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8, MaxQueueDelay = TimeSpan.FromMilliseconds(30) }, time);
        Assert.Equal(TimeSpan.Zero, queue.GetStats().AverageLatency);
        var a = queue.EnqueueAsync(Rows(1));
        time.Advance(TimeSpan.FromMilliseconds(10));
        var b = queue.EnqueueAsync(Rows(2));
        time.Advance(TimeSpan.FromMilliseconds(20)); // the queue delay of the first request ends: both run in one batch
        await Task.WhenAll(a, b).WaitAsync(TimeSpan.FromSeconds(10));
        // a waited 30 ms, b 20 ms (the fake clock does not move while the backend runs).
        Assert.Equal(TimeSpan.FromMilliseconds(25), queue.GetStats().AverageLatency);
    }

    [Fact]
    public async Task EnqueueAsync_CancelledBeforeDispatch_NeverReachesTheBackend()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        using var cts = new CancellationTokenSource();
        var cancelled = queue.EnqueueAsync(Rows(99), cancellationToken: cts.Token);
        var kept = queue.EnqueueAsync(Rows(5));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Release();
        await Task.WhenAll(first, kept);
        Assert.Equal([[1], [1]], _backend.Batches.ToArray());
        Assert.Equal(10f, (await kept)["y"].AsSpan<float>()[0]);
    }

    [Fact]
    public async Task EnqueueAsync_QueueFull_RejectsWithRetryAfter()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = services.GetRequiredService<IMeterFactory>();
        var metrics = new ModelKitMetrics(meterFactory);
        using var rejections = new MetricCollector<long>(meterFactory, ModelKitTelemetry.Name, ModelKitTelemetry.QueueRejections);
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 1, MaxQueueSize = 2 }, metrics: metrics);
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var a = queue.EnqueueAsync(Rows(1));
        var b = queue.EnqueueAsync(Rows(2));
        var error = await Assert.ThrowsAsync<QueueFullException>(() => queue.EnqueueAsync(Rows(3)));
        Assert.Equal(ModelKitErrorCodes.QueueFull, error.ErrorCode);
        Assert.True(error.RetryAfter > TimeSpan.Zero);
        Assert.Contains("full", error.Message, StringComparison.Ordinal);
        Release();
        await Task.WhenAll(first, a, b);
        Assert.Equal(1, rejections.GetMeasurementSnapshot().EvaluateAsCounter());
        Assert.Equal(1, queue.GetStats().Rejected);
    }

    [Fact]
    public async Task EnqueueAsync_OneRequestBreaksTheBatch_OnlyThatRequestFails()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var good1 = queue.EnqueueAsync(Rows(1));
        var bad = queue.EnqueueAsync(Rows(float.NaN));
        var good2 = queue.EnqueueAsync(Rows(2));
        Release();
        var error = await Assert.ThrowsAsync<InferenceFailedException>(() => bad);
        Assert.Contains("NaN", error.Message, StringComparison.Ordinal);
        Assert.Equal(2f, (await good1)["y"].AsSpan<float>()[0]);
        Assert.Equal(4f, (await good2)["y"].AsSpan<float>()[0]);
        await first;
        Assert.Equal(3, _backend.Batches.First(b => b.Length > 1).Length);
    }

    [Fact]
    public async Task EnqueueAsync_OneRequestTheBackendRejects_FailsAloneWithInvalidInput()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var good = queue.EnqueueAsync(Rows(1));
        var rejected = queue.EnqueueAsync(Rows(float.PositiveInfinity));
        Release();
        await Assert.ThrowsAsync<InvalidInputException>(() => rejected); // the caller's fault, not the batch-mates'
        Assert.Equal(2f, (await good)["y"].AsSpan<float>()[0]);
        await first;
        Assert.Contains(_backend.Batches, b => b.Length == 2); // tried together, then one by one
    }

    [Fact]
    public async Task EnqueueAsync_DifferentTrailingShapes_AreNotMerged()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 8 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var a = queue.EnqueueAsync(Rows(1));
        var odd = queue.EnqueueAsync(new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new float[] { 1, 2, 3 }, 1, 3) });
        var b = queue.EnqueueAsync(Rows(2));
        Release();
        await Task.WhenAll(first, a, odd, b);
        Assert.Equal([[1], [1, 1], [1]], _backend.Batches.ToArray());
    }

    [Fact]
    public async Task SetInstances_Two_RunsTwoBatchesAtOnce()
    {
        await using var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 1, Instances = 1 });
        _backend.RunGate = new SemaphoreSlim(0);
        var a = queue.EnqueueAsync(Rows(1));
        var b = queue.EnqueueAsync(Rows(2)); // queued when the call returns
        Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal((1, 1), (queue.GetStats().Running, queue.Count)); // one instance runs one batch at a time
        queue.SetInstances(2);
        Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)), "a second instance starts the waiting batch");
        Assert.Equal(2, queue.GetStats().Running);
        Release();
        await Task.WhenAll(a, b);
    }

    [Fact]
    public async Task StopAsync_Drain_CompletesQueuedRequestsAndRefusesNewOnes()
    {
        var queue = CreateQueue(new BatchingOptions { MaxBatchSize = 1 });
        var first = await Task.Run(() => BlockWithFirstRequestAsync(queue));
        var queued = queue.EnqueueAsync(Rows(1));
        var stopping = queue.StopAsync(drain: true);
        await Assert.ThrowsAsync<ModelKitConflictException>(() => queue.EnqueueAsync(Rows(2)));
        Release();
        await stopping.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(queued.IsCompletedSuccessfully);
        await first;
        await queue.DisposeAsync();
    }

    public void Dispose()
    {
        _backend.RunGate?.Release(1000);
        _cache.Dispose();
        _dir.Dispose();
    }

    // Runs each batch on a lease of the cached fake session, as served models do.
    private sealed class LeaseExecutor(ModelCache cache, ModelCacheKey key, ModelLoadRequest load) : IBatchExecutor
    {
        public async ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> ExecuteAsync(
            IReadOnlyList<IReadOnlyDictionary<string, Tensor>> batch, CancellationToken cancellationToken = default)
        {
            using var lease = await cache.AcquireAsync(key, load, cancellationToken);
            return await lease.Session.RunAsync(batch, cancellationToken);
        }
    }
}
