using ModelKit.Backends;

namespace ModelKit.Caching;

/// <summary>Loaded model sessions, bounded by memory and count, handed out as leases.</summary>
public interface IModelCache
{
    /// <summary>
    /// Leases the session for <paramref name="key"/>, loading it with <paramref name="load"/> on a miss.
    /// Concurrent first requests share one load. Dispose the lease when the run is done.
    /// </summary>
    ValueTask<ModelLease> AcquireAsync(ModelCacheKey key, ModelLoadRequest load, CancellationToken cancellationToken = default);

    /// <summary>Leases the session when it is already loaded; never loads.</summary>
    bool TryAcquire(ModelCacheKey key, out ModelLease lease);

    /// <summary>Loads the model now (if not loaded) and optionally pins it.</summary>
    Task PreloadAsync(ModelCacheKey key, ModelLoadRequest load, bool pin = false, CancellationToken cancellationToken = default);

    /// <summary>Pins the entry (counted): a pinned entry is never evicted. Pinning a key that is not loaded pins it once it loads.</summary>
    void Pin(ModelCacheKey key);

    /// <summary>Undoes one <see cref="Pin"/>.</summary>
    void Unpin(ModelCacheKey key);

    /// <summary>Removes the entry; in-flight leases finish first. Returns false when it was not loaded.</summary>
    bool Remove(ModelCacheKey key);

    /// <summary>Removes every unpinned entry and returns how many were removed.</summary>
    int Clear();

    /// <summary>Changes the limits; entries are evicted at once if the cache is over them.</summary>
    void Resize(long? memoryLimitBytes = null, int? maxModels = null);

    /// <summary>A snapshot of counters and entries.</summary>
    ModelCacheStats GetStats();
}
