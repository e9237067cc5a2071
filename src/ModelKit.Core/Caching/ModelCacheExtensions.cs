using ModelKit.Backends;

namespace ModelKit.Caching;

/// <summary>The cache's fast path with the content check that every caller needs.</summary>
internal static class ModelCacheExtensions
{
    /// <summary>
    /// A lease on the cached session of <paramref name="key"/> when it is loaded <b>and</b> holds the content
    /// <paramref name="load"/> names; false on a miss, or when the entry holds other content under the same key (an older
    /// registration), which the slow path (<see cref="IModelCache.AcquireAsync"/>) then replaces.
    /// </summary>
    public static bool TryAcquireCurrent(this IModelCache cache, ModelCacheKey key, ModelLoadRequest load, out ModelLease lease)
    {
        if (cache.TryAcquire(key, out lease))
        {
            if (string.Equals(lease.ContentKey, load.ContentKey, StringComparison.Ordinal)) return true;
            lease.Dispose();
            lease = default;
        }

        return false;
    }
}
