namespace ModelKit.LocalHub;

/// <summary>What a <see cref="LocalHubServer"/> was asked for since it started (or since <see cref="Reset"/>); thread-safe.</summary>
public sealed class LocalHubCounters
{
    private readonly Lock _gate = new();
    private readonly List<LocalHubRangeRequest> _ranges = [];
    private long _requests;
    private long _searches;
    private long _infos;
    private long _trees;
    private long _resolves;
    private long _lfsDownloads;
    private long _failed;
    private long _dropped;
    private long _bodyBytes;

    /// <summary>Every request, whatever its answer.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary><c>GET /api/models</c> requests.</summary>
    public long Searches => Interlocked.Read(ref _searches);

    /// <summary><c>GET /api/models/{owner}/{name}[/revision/{rev}]</c> requests.</summary>
    public long ModelInfos => Interlocked.Read(ref _infos);

    /// <summary><c>GET /api/models/{owner}/{name}/tree/{rev}[/{path}]</c> requests.</summary>
    public long Trees => Interlocked.Read(ref _trees);

    /// <summary><c>GET</c> and <c>HEAD /{owner}/{name}/resolve/{rev}/{path}</c> requests.</summary>
    public long Resolves => Interlocked.Read(ref _resolves);

    /// <summary><c>GET</c> and <c>HEAD /_lfs/{sha256}</c> requests.</summary>
    public long LfsDownloads => Interlocked.Read(ref _lfsDownloads);

    /// <summary>Requests answered 503 by <see cref="LocalHubFaults.FailNextRequests"/>.</summary>
    public long FailedByFault => Interlocked.Read(ref _failed);

    /// <summary>File bodies cut by <see cref="LocalHubFaults.DropAfterBytes"/>.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>File body bytes sent (resolve and LFS downloads, ranges included).</summary>
    public long BodyBytes => Interlocked.Read(ref _bodyBytes);

    /// <summary>The file requests that carried a <c>Range</c> header, in arrival order (a snapshot).</summary>
    public IReadOnlyList<LocalHubRangeRequest> RangeRequests
    {
        get
        {
            lock (_gate) return [.. _ranges];
        }
    }

    /// <summary>Sets every count back to zero and forgets the range requests.</summary>
    public void Reset()
    {
        Interlocked.Exchange(ref _requests, 0);
        Interlocked.Exchange(ref _searches, 0);
        Interlocked.Exchange(ref _infos, 0);
        Interlocked.Exchange(ref _trees, 0);
        Interlocked.Exchange(ref _resolves, 0);
        Interlocked.Exchange(ref _lfsDownloads, 0);
        Interlocked.Exchange(ref _failed, 0);
        Interlocked.Exchange(ref _dropped, 0);
        Interlocked.Exchange(ref _bodyBytes, 0);
        lock (_gate) _ranges.Clear();
    }

    internal void AddRequest() => Interlocked.Increment(ref _requests);

    internal void AddSearch() => Interlocked.Increment(ref _searches);

    internal void AddInfo() => Interlocked.Increment(ref _infos);

    internal void AddTree() => Interlocked.Increment(ref _trees);

    internal void AddResolve() => Interlocked.Increment(ref _resolves);

    internal void AddLfsDownload() => Interlocked.Increment(ref _lfsDownloads);

    internal void AddFailed() => Interlocked.Increment(ref _failed);

    internal void AddDropped() => Interlocked.Increment(ref _dropped);

    internal void AddBodyBytes(long count) => Interlocked.Add(ref _bodyBytes, count);

    internal void AddRange(string path, string range)
    {
        lock (_gate) _ranges.Add(new LocalHubRangeRequest(path, range));
    }
}
