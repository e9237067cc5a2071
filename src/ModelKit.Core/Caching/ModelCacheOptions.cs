namespace ModelKit.Caching;

/// <summary>
/// Limits of the model cache; configuration section <c>ModelKit:Cache</c> with
/// <c>AddModelKit(configuration.GetSection("ModelKit"))</c>.
/// </summary>
public sealed class ModelCacheOptions
{
    /// <summary>
    /// The memory all cached models may hold together, in bytes, as the backends figure it
    /// (<see cref="Backends.IModelSession.MemoryBytes"/>). Default: null, which means <see cref="MemoryLimitFraction"/> of the
    /// memory available to the process.
    /// </summary>
    public long? MemoryLimitBytes { get; set; }

    /// <summary>
    /// The share of the memory available to the process (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: the machine's
    /// physical memory, or the container's memory limit, or the GC heap hard limit when one is set) that the cache may hold
    /// when <see cref="MemoryLimitBytes"/> is not set; greater than 0 and at most 1. Default: 0.75, which leaves a quarter for
    /// the host, the runtime and the working memory of the runs (18 GiB on a 24 GiB machine).
    /// </summary>
    public double MemoryLimitFraction { get; set; } = 0.75;

    /// <summary>The most models kept loaded at once. Default: 16.</summary>
    public int MaxModels { get; set; } = 16;

    /// <summary>The limit in force: <see cref="MemoryLimitBytes"/>, or <see cref="MemoryLimitFraction"/> of the memory available to the process.</summary>
    internal long ResolveMemoryLimitBytes() => ResolveMemoryLimitBytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>The limit in force on a process with <paramref name="availableBytes"/> available.</summary>
    internal long ResolveMemoryLimitBytes(long availableBytes) =>
        MemoryLimitBytes ?? Math.Max(1, (long)(availableBytes * MemoryLimitFraction));
}

/// <summary>A cached model's identity: model, version and device.</summary>
public readonly record struct ModelCacheKey(string ModelId, string Version, Backends.ExecutionDevice Device)
{
    /// <summary><c>model:version@device</c>.</summary>
    public override string ToString() => $"{ModelId}:{Version}@{Device}";
}

/// <summary>Counters and entries of the cache at one moment.</summary>
public sealed record ModelCacheStats
{
    /// <summary>Lookups that found a loaded model.</summary>
    public long Hits { get; init; }
    /// <summary>Lookups that had to load or wait for a load.</summary>
    public long Misses { get; init; }
    /// <summary>Loads started.</summary>
    public long Loads { get; init; }
    /// <summary>Loads that failed.</summary>
    public long LoadFailures { get; init; }
    /// <summary>Entries evicted (by pressure, resize or removal).</summary>
    public long Evictions { get; init; }
    /// <summary>Bytes held by loaded entries.</summary>
    public long MemoryBytes { get; init; }
    /// <summary>The memory limit in bytes.</summary>
    public long MemoryLimitBytes { get; init; }
    /// <summary>The number of loaded entries.</summary>
    public int Count { get; init; }
    /// <summary>The most entries allowed.</summary>
    public int MaxModels { get; init; }
    /// <summary>Hits ÷ (hits + misses), or 0.</summary>
    public double HitRate => Hits + Misses == 0 ? 0 : (double)Hits / (Hits + Misses);
    /// <summary>The loaded entries, most recently used first.</summary>
    public IReadOnlyList<ModelCacheEntryInfo> Entries { get; init; } = [];

    /// <summary>
    /// Use per model over the loaded entries (all versions and devices): backend runs and the last use, most used
    /// first. Counts start when an entry loads, so they cover what is in the cache now.
    /// </summary>
    public IReadOnlyList<ModelUsage> UsageByModel() =>
        [.. Entries.GroupBy(e => e.Key.ModelId, StringComparer.Ordinal)
            .Select(g => new ModelUsage(g.Key, g.Sum(e => e.AccessCount), g.Max(e => e.LastAccess)))
            .OrderByDescending(u => u.Runs).ThenBy(u => u.ModelId, StringComparer.Ordinal)];

    /// <summary>The entry of <paramref name="key"/>, or null when it is not loaded.</summary>
    public ModelCacheEntryInfo? Find(ModelCacheKey key)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key == key) return entry;
        }

        return null;
    }
}

/// <summary>One cached model.</summary>
public sealed record ModelCacheEntryInfo
{
    /// <summary>The key.</summary>
    public required ModelCacheKey Key { get; init; }
    /// <summary>Bytes held.</summary>
    public long MemoryBytes { get; init; }
    /// <summary>How the bytes were obtained.</summary>
    public Backends.MemoryMeasurement MemoryMeasurement { get; init; }
    /// <summary>How long the load took.</summary>
    public TimeSpan LoadTime { get; init; }
    /// <summary>When it was loaded.</summary>
    public DateTimeOffset LoadedAt { get; init; }
    /// <summary>When it was last leased.</summary>
    public DateTimeOffset LastAccess { get; init; }
    /// <summary>How many leases it has given out.</summary>
    public long AccessCount { get; init; }
    /// <summary>True when pinned (never evicted).</summary>
    public bool Pinned { get; init; }
    /// <summary>Leases currently held.</summary>
    public int ActiveLeases { get; init; }
}

/// <summary>How much one model was used (<see cref="ModelCacheStats.UsageByModel"/>).</summary>
public sealed record ModelUsage(string ModelId, long Runs, DateTimeOffset LastUsed);
