using ModelKit.Backends;

namespace ModelKit.Caching;

internal sealed class ModelCacheEntry(ModelCacheKey key)
{
    // One reference belongs to the cache itself; each lease adds one. At zero the session is disposed.
    private int _references = 1;
    private readonly TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ModelCacheKey Key { get; } = key;
    public required string ContentKey { get; init; }
    public IModelSession? Session { get; private set; }
    public long MemoryBytes { get; set; }
    public long EstimatedBytes { get; set; }
    public TimeSpan LoadTime { get; set; }
    public DateTimeOffset LoadedAt { get; set; }
    public long LastAccessTimestamp;
    public long AccessCount;
    public bool IsLoaded => Session is not null;
    public Task Loaded => _loaded.Task;
    public int ActiveLeases => Math.Max(0, Volatile.Read(ref _references) - 1);

    public void SetLoaded(IModelSession session)
    {
        Session = session;
        _loaded.TrySetResult();
    }

    public void SetFailed(Exception exception) => _loaded.TrySetException(exception);

    public bool TryAddReference()
    {
        var current = Volatile.Read(ref _references);
        while (current > 0)
        {
            var seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current) return true;
            current = seen;
        }

        return false;
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            Session?.Dispose();
        }
    }
}
