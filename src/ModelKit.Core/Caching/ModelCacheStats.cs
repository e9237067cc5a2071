namespace ModelKit.Caching;

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
