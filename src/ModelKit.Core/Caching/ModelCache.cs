using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Diagnostics;

namespace ModelKit.Caching;

/// <summary>
/// The least-recently-used model cache. Hits take no lock and allocate nothing; loads, evictions and
/// resizes serialise on one lock. Works without DI: <c>new ModelCache(options, backends, timeProvider)</c>.
/// </summary>
public sealed class ModelCache : IModelCache, IDisposable
{
    private readonly ConcurrentDictionary<ModelCacheKey, ModelCacheEntry> _entries = new();
    private readonly Dictionary<ModelCacheKey, int> _pins = [];
    private readonly Lock _gate = new();
    private readonly IReadOnlyList<IInferenceBackend> _backends;
    private readonly TimeProvider _timeProvider;
    private readonly ModelKitMetrics _metrics;
    private readonly ILogger _logger;
    private long _memoryLimit;
    private int _maxModels;
    private long _usedBytes;
    private long _reservedBytes;
    private int _reservedCount;
    private long _hits;
    private long _misses;
    private long _loads;
    private long _loadFailures;
    private long _evictions;
    private bool _disposed;

    /// <summary>Creates a cache.</summary>
    public ModelCache(
        IOptions<ModelCacheOptions> options,
        IEnumerable<IInferenceBackend> backends,
        TimeProvider? timeProvider = null,
        ModelKitMetrics? metrics = null,
        ILogger<ModelCache>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(backends);
        _memoryLimit = options.Value.ResolveMemoryLimitBytes();
        _maxModels = options.Value.MaxModels;
        _backends = [.. backends];
        _timeProvider = timeProvider ?? TimeProvider.System;
        _metrics = metrics ?? new ModelKitMetrics();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public bool TryAcquire(ModelCacheKey key, out ModelLease lease)
    {
        if (_entries.TryGetValue(key, out var entry) && entry.IsLoaded && entry.TryAddReference())
        {
            Touch(entry);
            Interlocked.Increment(ref _hits);
            _metrics.CacheHits.Add(1, new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, key.ModelId));
            lease = new ModelLease(entry);
            return true;
        }

        lease = default;
        return false;
    }

    /// <inheritdoc />
    public ValueTask<ModelLease> AcquireAsync(ModelCacheKey key, ModelLoadRequest load, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return this.TryAcquireCurrent(key, load, out var lease) ? new ValueTask<ModelLease>(lease) : AcquireSlowAsync(key, load, cancellationToken);
    }

    private async ValueTask<ModelLease> AcquireSlowAsync(ModelCacheKey key, ModelLoadRequest load, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(load);
        Interlocked.Increment(ref _misses);
        _metrics.CacheMisses.Add(1, new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, key.ModelId));
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_entries.TryGetValue(key, out var found) && found.IsLoaded && !string.Equals(found.ContentKey, load.ContentKey, StringComparison.Ordinal))
            {
                lock (_gate)
                {
                    // The key now names other content (the version was deleted and registered again): never serve the old session.
                    if (_entries.TryGetValue(key, out var stale) && stale == found) Evict(found, "content replaced");
                }
            }

            if (!_entries.TryGetValue(key, out var entry))
            {
                // The figure is learnt before the lock (the backend may read the artifact): admission is decided on it
                // before anything is evicted, and it is what the load reserves.
                var backend = FindBackend(load.Framework);
                var request = load with { Device = key.Device };
                var estimate = await EstimateBytesAsync(backend, request, cancellationToken).ConfigureAwait(false);
                var startLoad = false;
                lock (_gate)
                {
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    if (!_entries.TryGetValue(key, out entry))
                    {
                        Admit(key, estimate, loaded: false);
                        entry = new ModelCacheEntry(key) { EstimatedBytes = estimate, ContentKey = load.ContentKey };
                        _entries[key] = entry;
                        _reservedBytes += estimate;
                        _reservedCount++;
                        startLoad = true;
                    }
                }

                if (startLoad)
                {
                    // The load belongs to the cache, not to the first caller: its cancellation must not fail the others.
                    var loading = entry;
                    _ = Task.Run(() => LoadAsync(loading, backend, request), CancellationToken.None);
                }
            }

            await entry.Loaded.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (!string.Equals(entry.ContentKey, load.ContentKey, StringComparison.Ordinal)) continue; // other content: replaced above next time round
            if (entry.TryAddReference())
            {
                Touch(entry);
                return new ModelLease(entry);
            }

            // Evicted between load and lease: look again.
        }
    }

    private async Task LoadAsync(ModelCacheEntry entry, IInferenceBackend backend, ModelLoadRequest load)
    {
        var started = _timeProvider.GetTimestamp();
        Interlocked.Increment(ref _loads);
        IModelSession? session = null;
        try
        {
            session = await backend.LoadAsync(load).ConfigureAwait(false);
            var elapsed = _timeProvider.GetElapsedTime(started);
            lock (_gate)
            {
                _reservedBytes -= entry.EstimatedBytes;
                _reservedCount--;
                var bytes = session.MemoryBytes > 0 ? session.MemoryBytes : entry.EstimatedBytes;
                if (bytes > entry.EstimatedBytes) Log.ModelLargerThanReserved(_logger, entry.Key.ToString(), bytes, entry.EstimatedBytes);

                // Admitted again on the loaded figure (equal to the reservation when the backend estimated it): when it is
                // larger, room is made only by evicting unpinned entries, and the load fails when even that is not enough.
                Admit(entry.Key, bytes, loaded: true);
                entry.MemoryBytes = bytes;
                entry.LoadTime = elapsed;
                entry.LoadedAt = _timeProvider.GetUtcNow();
                _usedBytes += bytes;
                _metrics.CacheMemoryUsage.Add(bytes);
                entry.LastAccessTimestamp = _timeProvider.GetTimestamp();
                entry.SetLoaded(session);
            }

            _metrics.ModelLoadDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, entry.Key.ModelId));
            Log.ModelLoaded(_logger, entry.Key.ToString(), elapsed.TotalMilliseconds, entry.MemoryBytes, session.MemoryMeasurement.ToString());
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _loadFailures);
            lock (_gate)
            {
                if (!entry.IsLoaded)
                {
                    if (session is null)
                    {
                        _reservedBytes -= entry.EstimatedBytes;
                        _reservedCount--;
                    }

                    _entries.TryRemove(new KeyValuePair<ModelCacheKey, ModelCacheEntry>(entry.Key, entry));
                }
            }

            session?.Dispose();
            Log.ModelLoadFailed(_logger, entry.Key.ToString(), ex);
            entry.SetFailed(ex is ModelKitException ? ex : new InferenceFailedException($"Model {entry.Key} failed to load: {ex.Message}", ex));
        }
    }

    /// <inheritdoc />
    public async Task PreloadAsync(ModelCacheKey key, ModelLoadRequest load, bool pin = false, CancellationToken cancellationToken = default)
    {
        if (pin) Pin(key);
        try
        {
            using var lease = await AcquireAsync(key, load, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (pin) Unpin(key);
            throw;
        }
    }

    /// <inheritdoc />
    public void Pin(ModelCacheKey key)
    {
        lock (_gate)
        {
            _pins[key] = _pins.GetValueOrDefault(key) + 1;
        }
    }

    /// <inheritdoc />
    public void Unpin(ModelCacheKey key)
    {
        lock (_gate)
        {
            if (!_pins.TryGetValue(key, out var count)) return;
            if (count <= 1) _pins.Remove(key);
            else _pins[key] = count - 1;
            EvictWhileOver("limit");
        }
    }

    /// <inheritdoc />
    public bool Remove(ModelCacheKey key)
    {
        lock (_gate)
        {
            if (!_entries.TryGetValue(key, out var entry) || !entry.IsLoaded) return false;
            Evict(entry, "removed");
            return true;
        }
    }

    /// <inheritdoc />
    public int Clear()
    {
        var removed = 0;
        lock (_gate)
        {
            foreach (var entry in _entries.Values)
            {
                if (entry.IsLoaded && !IsPinned(entry))
                {
                    Evict(entry, "cleared");
                    removed++;
                }
            }
        }

        return removed;
    }

    /// <inheritdoc />
    public void Resize(long? memoryLimitBytes = null, int? maxModels = null)
    {
        if (memoryLimitBytes is <= 0) throw new ArgumentOutOfRangeException(nameof(memoryLimitBytes), memoryLimitBytes, "The memory limit must be positive.");
        if (maxModels is <= 0) throw new ArgumentOutOfRangeException(nameof(maxModels), maxModels, "The model count limit must be positive.");
        lock (_gate)
        {
            _memoryLimit = memoryLimitBytes ?? _memoryLimit;
            _maxModels = maxModels ?? _maxModels;
            EvictWhileOver("resize");
        }
    }

    /// <inheritdoc />
    public ModelCacheStats GetStats()
    {
        var now = _timeProvider.GetUtcNow();
        var nowTimestamp = _timeProvider.GetTimestamp();
        var entries = new List<(long Access, ModelCacheEntryInfo Info)>();
        long memoryLimit;
        int maxModels;
        long used;
        lock (_gate)
        {
            memoryLimit = _memoryLimit;
            maxModels = _maxModels;
            used = _usedBytes;
            foreach (var entry in _entries.Values)
            {
                if (!entry.IsLoaded) continue;
                var access = Volatile.Read(ref entry.LastAccessTimestamp);
                entries.Add((access, new ModelCacheEntryInfo
                {
                    Key = entry.Key,
                    MemoryBytes = entry.MemoryBytes,
                    MemoryMeasurement = entry.Session!.MemoryMeasurement,
                    LoadTime = entry.LoadTime,
                    LoadedAt = entry.LoadedAt,
                    LastAccess = now - _timeProvider.GetElapsedTime(access, nowTimestamp),
                    AccessCount = Interlocked.Read(ref entry.AccessCount),
                    Pinned = IsPinned(entry),
                    ActiveLeases = entry.ActiveLeases,
                }));
            }
        }

        entries.Sort(static (a, b) => b.Access.CompareTo(a.Access));
        var infos = new ModelCacheEntryInfo[entries.Count];
        for (var i = 0; i < infos.Length; i++) infos[i] = entries[i].Info;
        return new ModelCacheStats
        {
            Hits = Interlocked.Read(ref _hits),
            Misses = Interlocked.Read(ref _misses),
            Loads = Interlocked.Read(ref _loads),
            LoadFailures = Interlocked.Read(ref _loadFailures),
            Evictions = Interlocked.Read(ref _evictions),
            MemoryBytes = used,
            MemoryLimitBytes = memoryLimit,
            Count = infos.Length,
            MaxModels = maxModels,
            Entries = infos,
        };
    }

    /// <summary>Evicts everything; sessions are disposed after their last lease.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            foreach (var entry in _entries.Values)
            {
                if (entry.IsLoaded) Evict(entry, "disposed");
            }
        }
    }

    private void Touch(ModelCacheEntry entry)
    {
        Volatile.Write(ref entry.LastAccessTimestamp, _timeProvider.GetTimestamp());
        Interlocked.Increment(ref entry.AccessCount);
    }

    private IInferenceBackend FindBackend(string framework) =>
        InferenceBackends.Find(_backends, framework) ??
        throw new InvalidModelConfigException(
            _backends.Count == 0
                ? $"No inference backend is registered for framework '{framework}'; call AddOnnxRuntime() on the ModelKit builder."
                : $"No inference backend serves framework '{framework}'; registered: {string.Join(", ", _backends.Select(b => b.Framework))}.");

    // The backend's figure for the load, or the artifact's size when the backend cannot tell before loading.
    private static async ValueTask<long> EstimateBytesAsync(IInferenceBackend backend, ModelLoadRequest load, CancellationToken cancellationToken)
    {
        if (await backend.EstimateMemoryAsync(load, cancellationToken).ConfigureAwait(false) is > 0 and var bytes) return bytes;
        try
        {
            return Math.Max(1, new FileInfo(load.ArtifactPath).Length);
        }
        catch (IOException)
        {
            return 1;
        }
    }

    // Under _gate: admits an entry of `bytes` (not yet counted as used or reserved). What cannot be evicted, the pinned
    // entries and the loads in progress, is checked first, and admission fails before anything is evicted when the entry
    // cannot fit beside it; only then are least-recently-used entries evicted until it fits.
    private void Admit(ModelCacheKey key, long bytes, bool loaded)
    {
        var figure = loaded ? $"Model {key} holds {FormatBytes(bytes)} once loaded" : $"Model {key} needs about {FormatBytes(bytes)}";
        if (bytes > _memoryLimit)
        {
            throw new InsufficientResourcesException($"{figure} but the cache's memory limit is {FormatBytes(_memoryLimit)}.");
        }

        var heldBytes = _reservedBytes;
        var heldCount = _reservedCount;
        foreach (var entry in _entries.Values)
        {
            if (!entry.IsLoaded || !IsPinned(entry)) continue;
            heldBytes += entry.MemoryBytes;
            heldCount++;
        }

        if (heldBytes + bytes > _memoryLimit || heldCount + 1 > _maxModels)
        {
            throw new InsufficientResourcesException(
                $"{figure} and cannot fit: {FormatBytes(heldBytes)} of {FormatBytes(_memoryLimit)} and {heldCount} of {_maxModels} models " +
                "are pinned or loading. Nothing was evicted.");
        }

        while (_usedBytes + _reservedBytes + bytes > _memoryLimit || LoadedCount() + _reservedCount + 1 > _maxModels)
        {
            // Every loaded entry that is not pinned can go, so a victim remains until the entry fits.
            var victim = FindVictim() ?? throw new InvalidOperationException("The cache's accounting is inconsistent.");
            Evict(victim, "memory pressure");
        }
    }

    // Under _gate.
    private void EvictWhileOver(string reason)
    {
        while (_usedBytes + _reservedBytes > _memoryLimit || LoadedCount() + _reservedCount > _maxModels)
        {
            var victim = FindVictim();
            if (victim is null) return;
            Evict(victim, reason);
        }
    }

    private int LoadedCount()
    {
        var count = 0;
        foreach (var entry in _entries.Values) if (entry.IsLoaded) count++;
        return count;
    }

    // Under _gate. The pins are counted per key (a key can be pinned before it is loaded, and stays pinned across reloads).
    private bool IsPinned(ModelCacheEntry entry) => _pins.ContainsKey(entry.Key);

    // The least recently used loaded entry that is not pinned.
    private ModelCacheEntry? FindVictim()
    {
        ModelCacheEntry? victim = null;
        foreach (var entry in _entries.Values)
        {
            if (!entry.IsLoaded || IsPinned(entry)) continue;
            if (victim is null || entry.LastAccessTimestamp < victim.LastAccessTimestamp) victim = entry;
        }

        return victim;
    }

    private void Evict(ModelCacheEntry entry, string reason)
    {
        if (!_entries.TryRemove(new KeyValuePair<ModelCacheKey, ModelCacheEntry>(entry.Key, entry))) return;
        _usedBytes -= entry.MemoryBytes;
        _metrics.CacheMemoryUsage.Add(-entry.MemoryBytes);
        Interlocked.Increment(ref _evictions);
        _metrics.CacheEvictions.Add(1, new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, entry.Key.ModelId));
        Log.ModelEvicted(_logger, entry.Key.ToString(), entry.MemoryBytes, reason);
        entry.Release();
    }

    internal static string FormatBytes(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F2} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:F1} KiB",
        _ => $"{bytes} B",
    };
}
