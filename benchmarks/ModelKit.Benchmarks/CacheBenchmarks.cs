using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Onnx;

namespace ModelKit.Benchmarks;

/// <summary>The lease path on a hot cache entry: lookup, reference count, touch, release. Goal: no allocation.</summary>
[MemoryDiagnoser]
public class CacheBenchmarks
{
    private ModelCache _cache = null!;
    private ModelCacheKey _key;
    private ModelLoadRequest _load = null!;

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _cache = new ModelCache(Options.Create(new ModelCacheOptions()), [new OnnxBackend(Options.Create(new OnnxRuntimeOptions()))]);
        _key = new ModelCacheKey("mlp", "1", ExecutionDevice.Cpu);
        _load = new ModelLoadRequest(BenchModels.PathOf("mlp"));
        using var lease = await _cache.AcquireAsync(_key, _load);
    }

    [Benchmark(Description = "TryAcquire + Dispose (hot)")]
    public bool TryAcquire()
    {
        var hit = _cache.TryAcquire(_key, out var lease);
        lease.Dispose();
        return hit;
    }

    [Benchmark(Description = "AcquireAsync + Dispose (hot)")]
    public async ValueTask<bool> AcquireAsync()
    {
        using var lease = await _cache.AcquireAsync(_key, _load);
        return lease.Key.ModelId.Length > 0;
    }

    [GlobalCleanup]
    public void Cleanup() => _cache.Dispose();
}
