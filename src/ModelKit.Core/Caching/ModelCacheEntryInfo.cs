namespace ModelKit.Caching;

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
