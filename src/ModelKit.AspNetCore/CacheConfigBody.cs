namespace ModelKit.AspNetCore;

/// <summary>Seed 003's <c>PUT /inference/cache/config</c> as a JSON body (the seed's example uses the query string; both are read).</summary>
internal sealed record CacheConfigBody
{
    public int? MaxCacheSize { get; init; }
    public double? MaxMemoryGb { get; init; }
    public long? MemoryLimitBytes { get; init; }
}
