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
        await Task.Delay(50);
        Assert.All(leases, t => Assert.False(t.IsCompleted));
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
}
