using ModelKit.Caching;

namespace ModelKit.AspNetCore.InferenceApi;

// The bodies of seed 003's cache endpoints, as its proposed handlers return them: "success", the payload under the
// seed's name ("stats", "models" + "count", "message", "current_config" + "updates"), and "timestamp" (Unix seconds).

/// <summary><c>GET /inference/cache/stats</c>.</summary>
internal sealed record CacheStatsResponse(bool Success, CacheStatistics Stats, double Timestamp);

/// <summary>
/// The cache's counters: hit rate (<c>hits</c>, <c>misses</c>, <c>hit_rate</c>), memory use (<c>memory_bytes</c>,
/// <c>memory_gb</c>, the limits, <c>memory_usage_percent</c>), per-model access (<c>model_access</c>) and evictions.
/// </summary>
internal sealed record CacheStatistics
{
    public long Hits { get; init; }
    public long Misses { get; init; }
    public double HitRate { get; init; }
    public long Loads { get; init; }
    public long LoadFailures { get; init; }
    public long Evictions { get; init; }
    public int CachedModels { get; init; }
    public int MaxCacheSize { get; init; }
    public long MemoryBytes { get; init; }
    public long MemoryLimitBytes { get; init; }
    public double MemoryGb { get; init; }
    public double MaxMemoryGb { get; init; }
    public double MemoryUsagePercent { get; init; }
    public required List<ModelAccess> ModelAccess { get; init; }

    public static CacheStatistics Of(ModelCacheStats stats) => new()
    {
        Hits = stats.Hits,
        Misses = stats.Misses,
        HitRate = stats.HitRate,
        Loads = stats.Loads,
        LoadFailures = stats.LoadFailures,
        Evictions = stats.Evictions,
        CachedModels = stats.Count,
        MaxCacheSize = stats.MaxModels,
        MemoryBytes = stats.MemoryBytes,
        MemoryLimitBytes = stats.MemoryLimitBytes,
        MemoryGb = Gb(stats.MemoryBytes),
        MaxMemoryGb = Gb(stats.MemoryLimitBytes),
        MemoryUsagePercent = stats.MemoryLimitBytes == 0 ? 0 : 100.0 * stats.MemoryBytes / stats.MemoryLimitBytes,
        ModelAccess = [.. stats.UsageByModel().Select(u => new ModelAccess(CacheKeys.Of(u.ModelId), u.ModelId, u.Runs, InferenceApiClock.Seconds(u.LastUsed)))],
    };

    public static double Gb(long bytes) => bytes / (double)(1L << 30);
}

/// <summary>Use of one model (all its cached versions and devices): backend runs since it loaded, and the last (Unix seconds).</summary>
internal sealed record ModelAccess(string Key, string ModelName, long AccessCount, double LastAccess);

/// <summary><c>GET /inference/cache/models</c>.</summary>
internal sealed record CachedModelsResponse(bool Success, List<CachedModel> Models, int Count, double Timestamp);

/// <summary>
/// One loaded entry: <c>key</c> in the seed's <c>engine:model_name</c> form (shared by the model's versions and devices),
/// ModelKit's exact <c>cache_key</c> (<c>model:version@device</c>), <c>load_time</c> (when it loaded, Unix seconds) and
/// <c>load_duration_ms</c>, <c>access_count</c>, <c>last_access</c>, memory (<c>memory_bytes</c>, <c>memory_mb</c> and how it
/// was measured), <c>pinned</c> (deployed: never evicted by pressure) and <c>active_leases</c>.
/// </summary>
internal sealed record CachedModel
{
    public required string Key { get; init; }
    public required string CacheKey { get; init; }
    public required string Engine { get; init; }
    public required string ModelName { get; init; }
    public required string Version { get; init; }
    public required string Device { get; init; }
    public double LoadTime { get; init; }
    public double LoadDurationMs { get; init; }
    public long AccessCount { get; init; }
    public double LastAccess { get; init; }
    public long MemoryBytes { get; init; }
    public double MemoryMb { get; init; }
    public required string MemoryMeasurement { get; init; }
    public bool Pinned { get; init; }
    public int ActiveLeases { get; init; }

    public static CachedModel Of(ModelCacheEntryInfo e) => new()
    {
        Key = CacheKeys.Of(e.Key.ModelId),
        CacheKey = e.Key.ToString(),
        Engine = CacheKeys.Engine,
        ModelName = e.Key.ModelId,
        Version = e.Key.Version,
        Device = e.Key.Device.ToString(),
        LoadTime = InferenceApiClock.Seconds(e.LoadedAt),
        LoadDurationMs = e.LoadTime.TotalMilliseconds,
        AccessCount = e.AccessCount,
        LastAccess = InferenceApiClock.Seconds(e.LastAccess),
        MemoryBytes = e.MemoryBytes,
        MemoryMb = e.MemoryBytes / (1024.0 * 1024.0),
        MemoryMeasurement = ModelKitJson.Name(e.MemoryMeasurement),
        Pinned = e.Pinned,
        ActiveLeases = e.ActiveLeases,
    };
}

/// <summary>
/// <c>DELETE /inference/cache/models/{key}</c>: the seed's <c>success</c>, <c>message</c>, <c>timestamp</c> — <c>success</c>
/// false (still 200, as the seed does) when nothing under the key was loaded; ModelKit adds the exact keys it removed.
/// </summary>
internal sealed record CacheRemoveResponse(bool Success, string Message, List<string> Removed, double Timestamp);

/// <summary><c>PUT /inference/cache/config</c>: <c>success</c>, <c>message</c>, <c>updates</c>, <c>current_config</c>, <c>timestamp</c>; ModelKit adds what the resize evicted.</summary>
internal sealed record CacheConfigResponse(bool Success, string Message, List<string> Updates, CurrentCacheConfig CurrentConfig, List<string> Evicted, double Timestamp);

/// <summary>The seed's <c>current_config</c>: <c>max_cache_size</c> and <c>max_memory_gb</c>, with ModelKit's exact <c>memory_limit_bytes</c>.</summary>
internal sealed record CurrentCacheConfig(int MaxCacheSize, double MaxMemoryGb, long MemoryLimitBytes);

/// <summary><c>POST /inference/clear-cache</c>: how many unpinned entries were removed (deployed models stay).</summary>
internal sealed record ClearCacheResponse(bool Success, string Message, int Removed, double Timestamp);

/// <summary><c>POST /inference/models/preload</c>: the entries now loaded.</summary>
internal sealed record PreloadResponse(bool Success, string Message, List<PreloadedModel> Loaded, int Count, double Timestamp);

/// <summary>One preloaded model: the seed's key, ModelKit's exact cache key, the version.</summary>
internal sealed record PreloadedModel(string Key, string CacheKey, string ModelName, string Version);

/// <summary>
/// Seed 003's cache keys, <c>engine:model_name</c>: <c>onnxruntime:&lt;model id&gt;</c> stands for every cached version and
/// device of the model. ModelKit's exact keys (<c>model:version@device</c>) are accepted too.
/// </summary>
internal static class CacheKeys
{
    public const string Engine = "onnxruntime";

    public static string Of(string modelId) => Engine + ":" + modelId;

    /// <summary>The loaded entries <paramref name="key"/> names (none when it names nothing loaded, or is no key at all).</summary>
    public static List<ModelCacheKey> Match(string key, ModelCacheStats stats)
    {
        var colon = key.IndexOf(':', StringComparison.Ordinal);
        if (colon > 0 && UnsupportedEngineException.IsServed(key[..colon]))
        {
            var modelId = key[(colon + 1)..];
            return [.. stats.Entries.Where(e => e.Key.ModelId == modelId).Select(e => e.Key)];
        }

        ModelCacheKey exact;
        try
        {
            exact = ModelCacheKey.Parse(key);
        }
        catch (InvalidInputException)
        {
            return [];
        }

        return stats.Find(exact) is null ? [] : [exact];
    }
}
