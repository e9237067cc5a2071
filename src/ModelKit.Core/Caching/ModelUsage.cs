namespace ModelKit.Caching;

/// <summary>How much one model was used (<see cref="ModelCacheStats.UsageByModel"/>).</summary>
public sealed record ModelUsage(string ModelId, long Runs, DateTimeOffset LastUsed);
