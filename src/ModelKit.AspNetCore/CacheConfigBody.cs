namespace ModelKit.AspNetCore;

internal sealed record CacheConfigBody
{
    public int? MaxCacheSize { get; init; }
    public double? MaxMemoryGb { get; init; }
    public long? MemoryLimitBytes { get; init; }
}
