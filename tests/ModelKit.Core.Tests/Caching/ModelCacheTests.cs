using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelKit.Backends;
using ModelKit.Caching;

namespace ModelKit.Tests.Caching;

public sealed class ModelCacheTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();
    private readonly FakeTimeProvider _time = new();

    private ModelCache CreateCache(long memory = 10_000, int maxModels = 10) =>
        new(Options.Create(new ModelCacheOptions { MemoryLimitBytes = memory, MaxModels = maxModels }), [_backend], _time);

    // A model file of `bytes` bytes; the fake session reports the file size as its memory.
    private (ModelCacheKey Key, ModelLoadRequest Load) Model(string id, int bytes)
    {
        var path = _dir.Combine(id + ".bin");
        File.WriteAllText(path, new string('m', bytes));
        return (new ModelCacheKey(id, "1", ExecutionDevice.Cpu), new ModelLoadRequest(path));
    }

    [Fact]
    public async Task AcquireAsync_SecondCall_IsAHitWithoutLoading()
    {
        using var cache = CreateCache();
        var (key, load) = Model("a", 100);
        using (var lease = await cache.AcquireAsync(key, load)) Assert.Equal(key, lease.Key);
        using (await cache.AcquireAsync(key, load)) { }
        var stats = cache.GetStats();
        Assert.Equal(1, _backend.Loads);
        Assert.Equal(1, stats.Hits);
        Assert.Equal(1, stats.Misses);
        Assert.Equal(1, stats.Loads);
        Assert.Equal(100, stats.MemoryBytes);
        var entry = Assert.Single(stats.Entries);
        Assert.Equal(2, entry.AccessCount);
        Assert.Equal(MemoryMeasurement.Estimated, entry.MemoryMeasurement);
    }

    [Fact]
    public async Task UsageByModel_SumsRunsOverVersions_MostUsedFirst()
    {
        using var cache = CreateCache();
        var (a1, loadA) = Model("a", 10);
        var a2 = a1 with { Version = "2" };
        var (b, loadB) = Model("b", 10);
        using (await cache.AcquireAsync(a1, loadA)) { }
        using (await cache.AcquireAsync(a2, loadA)) { }
        _time.Advance(TimeSpan.FromSeconds(5));
        for (var i = 0; i < 3; i++) using (await cache.AcquireAsync(b, loadB)) { }
        var usage = cache.GetStats().UsageByModel();
        Assert.Equal([("b", 3L), ("a", 2L)], usage.Select(u => (u.ModelId, u.Runs)));
        Assert.Equal(_time.GetUtcNow(), usage[0].LastUsed);
        Assert.True(usage[1].LastUsed < usage[0].LastUsed);
        Assert.Equal(a2, cache.GetStats().Find(a2)?.Key);
        Assert.Null(cache.GetStats().Find(b with { Version = "9" }));
    }

    [Fact]
    public async Task AcquireAsync_ConcurrentFirstRequests_LoadOnce()
    {
        using var cache = CreateCache();
        var (key, load) = Model("a", 100);
        _backend.LoadGate = new TaskCompletionSource();
        var leases = Enumerable.Range(0, 8).Select(_ => cache.AcquireAsync(key, load).AsTask()).ToArray();
        Assert.All(leases, t => Assert.False(t.IsCompleted)); // the one load is held at its gate
        _backend.LoadGate.SetResult();
        foreach (var lease in await Task.WhenAll(leases)) lease.Dispose();
        Assert.Equal(1, _backend.Loads);
        Assert.Single(_backend.Sessions);
    }

    [Fact]
    public async Task AcquireAsync_OverMemoryLimit_EvictsLeastRecentlyUsed()
    {
        using var cache = CreateCache(memory: 1000);
        var a = Model("a", 400);
        var b = Model("b", 400);
        var c = Model("c", 400);
        using (await cache.AcquireAsync(a.Key, a.Load)) { }
        _time.Advance(TimeSpan.FromSeconds(1));
        using (await cache.AcquireAsync(b.Key, b.Load)) { }
        _time.Advance(TimeSpan.FromSeconds(1));
        using (await cache.AcquireAsync(a.Key, a.Load)) { } // a is now more recent than b
        _time.Advance(TimeSpan.FromSeconds(1));
        using (await cache.AcquireAsync(c.Key, c.Load)) { }

        var stats = cache.GetStats();
        Assert.Equal(["c", "a"], stats.Entries.Select(e => e.Key.ModelId));
        Assert.Equal(1, stats.Evictions);
        Assert.Equal(800, stats.MemoryBytes);
        Assert.True(_backend.Sessions[1].Disposed, "the evicted session (b) is disposed");
        Assert.False(_backend.Sessions[0].Disposed);
    }

    [Fact]
    public async Task AcquireAsync_PinnedEntry_IsNeverEvicted()
    {
        using var cache = CreateCache(memory: 1000);
        var a = Model("a", 600);
        var b = Model("b", 600);
        await cache.PreloadAsync(a.Key, a.Load, pin: true);
        var error = await Assert.ThrowsAsync<InsufficientResourcesException>(async () => await cache.AcquireAsync(b.Key, b.Load));
        Assert.Equal(ModelKitErrorCodes.InsufficientResources, error.ErrorCode);
        Assert.Contains("pinned", error.Message, StringComparison.Ordinal);
        cache.Unpin(a.Key);
        using (await cache.AcquireAsync(b.Key, b.Load)) { }
        Assert.Equal(["b"], cache.GetStats().Entries.Select(e => e.Key.ModelId));
    }

    [Fact]
    public async Task AcquireAsync_ModelLargerThanBudget_FailsWithInsufficientResources()
    {
        using var cache = CreateCache(memory: 1000);
        var big = Model("big", 5000);
        var error = await Assert.ThrowsAsync<InsufficientResourcesException>(async () => await cache.AcquireAsync(big.Key, big.Load));
        Assert.Contains("memory limit", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, _backend.Loads);
    }

    [Fact]
    public async Task AcquireAsync_CannotFitBesidePinned_FailsAndKeepsTheUnpinnedEntry()
    {
        using var cache = CreateCache(memory: 1000);
        var pinned = Model("pinned", 600);
        var unpinned = Model("unpinned", 300);
        var big = Model("big", 500);
        await cache.PreloadAsync(pinned.Key, pinned.Load, pin: true);
        using (await cache.AcquireAsync(unpinned.Key, unpinned.Load)) { }

        // 600 pinned + 500 > 1000 whatever is evicted: refused before anything goes.
        var error = await Assert.ThrowsAsync<InsufficientResourcesException>(async () => await cache.AcquireAsync(big.Key, big.Load));
        Assert.Equal(ModelKitErrorCodes.InsufficientResources, error.ErrorCode);
        Assert.Contains("Nothing was evicted", error.Message, StringComparison.Ordinal);
        var stats = cache.GetStats();
        Assert.Equal(["pinned", "unpinned"], stats.Entries.Select(e => e.Key.ModelId).Order());
        Assert.Equal(0, stats.Evictions);
        Assert.Equal(900, stats.MemoryBytes);
        Assert.Equal(2, _backend.Loads);
        Assert.True(cache.TryAcquire(unpinned.Key, out var lease));
        lease.Dispose();
    }

    [Fact]
    public async Task AcquireAsync_CannotFitBesideALoadInProgress_FailsAndEvictsNothing()
    {
        using var cache = CreateCache(memory: 1000);
        var loaded = Model("loaded", 300);
        var loading = Model("loading", 600);
        var late = Model("late", 500);
        using (await cache.AcquireAsync(loaded.Key, loaded.Load)) { }
        _backend.LoadGate = new TaskCompletionSource();
        var pending = cache.AcquireAsync(loading.Key, loading.Load).AsTask();

        // 600 reserved by the load in progress + 500 > 1000.
        await Assert.ThrowsAsync<InsufficientResourcesException>(async () => await cache.AcquireAsync(late.Key, late.Load));
        Assert.Equal(["loaded"], cache.GetStats().Entries.Select(e => e.Key.ModelId));

        _backend.LoadGate.SetResult();
        (await pending).Dispose();
        Assert.Equal(["loaded", "loading"], cache.GetStats().Entries.Select(e => e.Key.ModelId).Order());
        Assert.Equal(0, cache.GetStats().Evictions);
    }

    [Fact]
    public async Task AcquireAsync_CountFullOfPinnedEntries_FailsNamingTheCount()
    {
        using var cache = CreateCache(maxModels: 2);
        var a = Model("a", 10);
        var b = Model("b", 10);
        var c = Model("c", 10);
        await cache.PreloadAsync(a.Key, a.Load, pin: true);
        await cache.PreloadAsync(b.Key, b.Load, pin: true);
        var error = await Assert.ThrowsAsync<InsufficientResourcesException>(async () => await cache.AcquireAsync(c.Key, c.Load));
        Assert.Contains("2 of 2 models are pinned or loading", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, _backend.Loads);
    }

    [Fact]
    public async Task AcquireAsync_BackendEstimate_DecidesAdmissionBeforeLoading()
    {
        // The backend says before loading that "a" will need 700 bytes (its file has 10): b must go to make room.
        var backend = new EstimatingBackend(_backend, path => path.EndsWith("a.bin", StringComparison.Ordinal) ? 700 : null);
        using var cache = new ModelCache(Options.Create(new ModelCacheOptions { MemoryLimitBytes = 1000 }), [backend], _time);
        var a = Model("a", 10);
        var b = Model("b", 400);
        using (await cache.AcquireAsync(b.Key, b.Load)) { }
        _time.Advance(TimeSpan.FromSeconds(1));
        using (await cache.AcquireAsync(a.Key, a.Load)) { }
        var stats = cache.GetStats();
        Assert.Equal(["a"], stats.Entries.Select(e => e.Key.ModelId));
        Assert.Equal(1, stats.Evictions);
        Assert.Equal(10, stats.MemoryBytes); // the loaded session's own figure, below its reservation

        // More than the whole limit: refused without loading.
        using var small = new ModelCache(Options.Create(new ModelCacheOptions { MemoryLimitBytes = 1000 }), [new EstimatingBackend(_backend, _ => 5000)], _time);
        var loadsBefore = _backend.Loads;
        var error = await Assert.ThrowsAsync<InsufficientResourcesException>(async () => await small.AcquireAsync(a.Key, a.Load));
        Assert.Contains("needs about 4.9 KiB but the cache's memory limit is 1000 B", error.Message, StringComparison.Ordinal);
        Assert.Equal(loadsBefore, _backend.Loads);
    }

    [Fact]
    public async Task AcquireAsync_LoadedFigureLargerThanReserved_EvictsUnpinnedToStayWithinTheLimit()
    {
        // "grow" is estimated at 300 but its session reports its file's 600 bytes.
        var backend = new EstimatingBackend(_backend, path => path.EndsWith("grow.bin", StringComparison.Ordinal) ? 300 : null);
        using var cache = new ModelCache(Options.Create(new ModelCacheOptions { MemoryLimitBytes = 1000 }), [backend], _time);
        var pinned = Model("pinned", 300);
        var unpinned = Model("unpinned", 300);
        var grow = Model("grow", 600);
        await cache.PreloadAsync(pinned.Key, pinned.Load, pin: true);
        using (await cache.AcquireAsync(unpinned.Key, unpinned.Load)) { }

        using (await cache.AcquireAsync(grow.Key, grow.Load)) { }
        var stats = cache.GetStats();
        Assert.Equal(["grow", "pinned"], stats.Entries.Select(e => e.Key.ModelId).Order());
        Assert.Equal(900, stats.MemoryBytes);
        Assert.True(stats.MemoryBytes <= stats.MemoryLimitBytes);
    }

    [Fact]
    public async Task AcquireAsync_LoadedFigureCannotFitBesidePinned_FailsAndKeepsEveryEntry()
    {
        var backend = new EstimatingBackend(_backend, path => path.EndsWith("grow.bin", StringComparison.Ordinal) ? 400 : null);
        using var cache = new ModelCache(Options.Create(new ModelCacheOptions { MemoryLimitBytes = 1000 }), [backend], _time);
        var pinned = Model("pinned", 500);
        var unpinned = Model("unpinned", 100);
        var grow = Model("grow", 600);
        await cache.PreloadAsync(pinned.Key, pinned.Load, pin: true);
        using (await cache.AcquireAsync(unpinned.Key, unpinned.Load)) { }

        var error = await Assert.ThrowsAsync<InsufficientResourcesException>(async () => await cache.AcquireAsync(grow.Key, grow.Load));
        Assert.Contains("once loaded", error.Message, StringComparison.Ordinal);
        var stats = cache.GetStats();
        Assert.Equal(["pinned", "unpinned"], stats.Entries.Select(e => e.Key.ModelId).Order());
        Assert.Equal(600, stats.MemoryBytes);
        Assert.Equal(1, stats.LoadFailures);
        Assert.True(_backend.Sessions[^1].Disposed, "the session that did not fit is disposed");
    }

    [Fact]
    public void ResolveMemoryLimitBytes_Default_IsThreeQuartersOfTheAvailableMemory()
    {
        Assert.Equal(18L << 30, new ModelCacheOptions().ResolveMemoryLimitBytes(24L << 30));
        Assert.Equal(1L << 30, new ModelCacheOptions { MemoryLimitBytes = 1L << 30 }.ResolveMemoryLimitBytes(24L << 30));
        Assert.Equal(12L << 30, new ModelCacheOptions { MemoryLimitFraction = 0.5 }.ResolveMemoryLimitBytes(24L << 30));
        using var cache = new ModelCache(Options.Create(new ModelCacheOptions()), [_backend], _time);
        Assert.Equal((long)(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes * 0.75), cache.GetStats().MemoryLimitBytes);
    }

    [Fact]
    public async Task Evict_WhileLeased_DisposesAfterLastLease()
    {
        using var cache = CreateCache();
        var a = Model("a", 100);
        var lease = await cache.AcquireAsync(a.Key, a.Load);
        Assert.True(cache.Remove(a.Key));
        Assert.False(_backend.Sessions[0].Disposed, "an in-flight lease keeps the session alive");
        lease.Dispose();
        Assert.True(_backend.Sessions[0].Disposed);
    }

    [Fact]
    public async Task Resize_BelowUsage_EvictsAtOnce()
    {
        using var cache = CreateCache(memory: 1000);
        var a = Model("a", 300);
        var b = Model("b", 300);
        using (await cache.AcquireAsync(a.Key, a.Load)) { }
        _time.Advance(TimeSpan.FromSeconds(1));
        using (await cache.AcquireAsync(b.Key, b.Load)) { }
        cache.Resize(memoryLimitBytes: 400);
        var stats = cache.GetStats();
        Assert.Equal(400, stats.MemoryLimitBytes);
        Assert.Equal(["b"], stats.Entries.Select(e => e.Key.ModelId));
        cache.Resize(maxModels: 1);
        Assert.Equal(1, cache.GetStats().MaxModels);
    }

    [Fact]
    public async Task AcquireAsync_MaxModels_EvictsByCount()
    {
        using var cache = CreateCache(maxModels: 2);
        foreach (var id in new[] { "a", "b", "c" })
        {
            var m = Model(id, 10);
            using (await cache.AcquireAsync(m.Key, m.Load)) { }
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(["c", "b"], cache.GetStats().Entries.Select(e => e.Key.ModelId));
    }

    [Fact]
    public async Task AcquireAsync_LoadFails_ReportsErrorAndKeepsNothing()
    {
        using var cache = CreateCache();
        var path = _dir.Combine("bad.bin");
        File.WriteAllText(path, "bad model");
        var key = new ModelCacheKey("bad", "1", ExecutionDevice.Cpu);
        await Assert.ThrowsAsync<InvalidModelConfigException>(async () => await cache.AcquireAsync(key, new ModelLoadRequest(path)));
        var stats = cache.GetStats();
        Assert.Equal(0, stats.Count);
        Assert.Equal(1, stats.LoadFailures);
        Assert.False(cache.TryAcquire(key, out _));
    }

    [Fact]
    public async Task TryAcquire_HotEntry_AllocatesNothing()
    {
        using var cache = CreateCache();
        var a = Model("a", 100);
        using (await cache.AcquireAsync(a.Key, a.Load)) { }
        for (var i = 0; i < 100; i++)
        {
            Assert.True(cache.TryAcquire(a.Key, out var warm));
            warm.Dispose();
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            cache.TryAcquire(a.Key, out var lease);
            lease.Dispose();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    public void Dispose() => _dir.Dispose();

    // The fake backend with a figure known before loading; its sessions still report their file's size.
    private sealed class EstimatingBackend(FakeBackend inner, Func<string, long?> estimate) : IInferenceBackend
    {
        public string Framework => inner.Framework;

        public ValueTask<long?> EstimateMemoryAsync(ModelLoadRequest request, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(estimate(request.ArtifactPath));

        public ValueTask<IModelSession> LoadAsync(ModelLoadRequest request, CancellationToken cancellationToken = default) =>
            inner.LoadAsync(request, cancellationToken);
    }
}
