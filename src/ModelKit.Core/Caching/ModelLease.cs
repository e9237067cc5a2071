using ModelKit.Backends;

namespace ModelKit.Caching;

/// <summary>A leased session. Dispose it exactly once when the run is done; it does not allocate.</summary>
public readonly struct ModelLease : IDisposable
{
    private readonly ModelCacheEntry? _entry;

    internal ModelLease(ModelCacheEntry entry) => _entry = entry;

    /// <summary>The session. Valid until the lease is disposed.</summary>
    public IModelSession Session => _entry?.Session ?? throw new InvalidOperationException("The lease is empty.");

    /// <summary>The entry's key.</summary>
    public ModelCacheKey Key => _entry?.Key ?? default;

    /// <summary>What the session was loaded from (<see cref="Backends.ModelLoadRequest.ContentId"/>, else the path).</summary>
    internal string? ContentKey => _entry?.ContentKey;

    /// <summary>Returns the lease; the session is disposed after the last lease of an evicted entry.</summary>
    public void Dispose() => _entry?.Release();
}
