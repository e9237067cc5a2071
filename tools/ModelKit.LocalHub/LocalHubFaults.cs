using System.Collections.Concurrent;

namespace ModelKit.LocalHub;

/// <summary>
/// Faults a <see cref="LocalHubServer"/> injects, changeable while it runs (every member is thread-safe). File bodies are those
/// of resolve answers for non-LFS files and of LFS downloads (<c>/_lfs/{sha256}</c>); redirects have none.
/// </summary>
public sealed class LocalHubFaults
{
    /// <summary>Names a test can add with <see cref="AddHostileSiblings"/>: a traversal, an absolute path and a backslash.</summary>
    public static readonly IReadOnlyList<string> HostileNames = ["../../evil.onnx", "/etc/passwd", "a\\b.onnx"];

    private readonly ConcurrentDictionary<string, byte> _corrupted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string[]> _hostile = new(StringComparer.Ordinal);
    private long _bytesPerSecond;
    private long _dropAfterBytes;
    private int _dropCount;
    private int _ignoreRange;
    private int _failNextRequests;
    private long _delayTicks;

    /// <summary>Bytes per second for every file body; 0 (the default) sends at full speed.</summary>
    public long BytesPerSecond
    {
        get => Interlocked.Read(ref _bytesPerSecond);
        set => Interlocked.Exchange(ref _bytesPerSecond, Math.Max(0, value));
    }

    /// <summary>
    /// When above 0, a file body longer than this is cut: the connection is aborted after this many body bytes, for
    /// <see cref="DropCount"/> responses. Default 0 (never).
    /// </summary>
    public long DropAfterBytes
    {
        get => Interlocked.Read(ref _dropAfterBytes);
        set => Interlocked.Exchange(ref _dropAfterBytes, Math.Max(0, value));
    }

    /// <summary>
    /// How many more file bodies <see cref="DropAfterBytes"/> cuts (one less each time); <see cref="int.MaxValue"/> cuts
    /// every one. Default 0.
    /// </summary>
    public int DropCount
    {
        get => Volatile.Read(ref _dropCount);
        set => Volatile.Write(ref _dropCount, Math.Max(0, value));
    }

    /// <summary>When true, a <c>Range</c> header is ignored: the answer is 200 with the whole file. Default false.</summary>
    public bool IgnoreRange
    {
        get => Volatile.Read(ref _ignoreRange) != 0;
        set => Volatile.Write(ref _ignoreRange, value ? 1 : 0);
    }

    /// <summary>The next this many requests, to any endpoint, answer 503 with <c>Retry-After: 1</c>. Default 0.</summary>
    public int FailNextRequests
    {
        get => Volatile.Read(ref _failNextRequests);
        set => Volatile.Write(ref _failNextRequests, Math.Max(0, value));
    }

    /// <summary>How long every request waits before it is answered (cancelled when the client goes away). Default zero.</summary>
    public TimeSpan Delay
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _delayTicks));
        set => Interlocked.Exchange(ref _delayTicks, Math.Max(0, value.Ticks));
    }

    /// <summary>
    /// Serves <paramref name="path"/> of <paramref name="repoId"/> with one byte flipped (the one at half its length, so
    /// every range that holds it carries the flip); sizes, hashes and headers stay those of the true file.
    /// </summary>
    public void CorruptFile(string repoId, string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(repoId);
        ArgumentException.ThrowIfNullOrEmpty(path);
        _corrupted[Key(repoId, path)] = 0;
    }

    /// <summary>Serves <paramref name="path"/> of <paramref name="repoId"/> intact again.</summary>
    public void RestoreFile(string repoId, string path) => _corrupted.TryRemove(Key(repoId, path), out _);

    /// <summary>Whether <see cref="CorruptFile"/> was asked for this file.</summary>
    public bool IsCorrupted(string repoId, string path) => _corrupted.ContainsKey(Key(repoId, path));

    /// <summary>
    /// Adds file names to <paramref name="repoId"/>'s listings (model info siblings, search results with <c>full</c>,
    /// the root of its tree) that no client should write to disk as given (<see cref="HostileNames"/> for instance);
    /// resolving them answers 404 EntryNotFound.
    /// </summary>
    public void AddHostileSiblings(string repoId, IEnumerable<string> names)
    {
        ArgumentException.ThrowIfNullOrEmpty(repoId);
        ArgumentNullException.ThrowIfNull(names);
        var added = names.ToArray();
        _hostile.AddOrUpdate(repoId, added, (_, existing) => [.. existing, .. added]);
    }

    /// <summary>The names <see cref="AddHostileSiblings"/> added to <paramref name="repoId"/>'s listings.</summary>
    public IReadOnlyList<string> HostileSiblingsOf(string repoId) => _hostile.TryGetValue(repoId, out var names) ? names : [];

    /// <summary>Clears every fault.</summary>
    public void Reset()
    {
        BytesPerSecond = 0;
        DropAfterBytes = 0;
        DropCount = 0;
        IgnoreRange = false;
        FailNextRequests = 0;
        Delay = TimeSpan.Zero;
        _corrupted.Clear();
        _hostile.Clear();
    }

    /// <summary>Takes one of <see cref="FailNextRequests"/>; true when this request is to fail.</summary>
    internal bool TryTakeFailure() => TryTake(ref _failNextRequests);

    /// <summary>Takes one of <see cref="DropCount"/> (never lowering <see cref="int.MaxValue"/>); true when this body is to be cut.</summary>
    internal bool TryTakeDrop() => TryTake(ref _dropCount);

    private static bool TryTake(ref int counter)
    {
        while (true)
        {
            var current = Volatile.Read(ref counter);
            if (current <= 0) return false;
            if (current == int.MaxValue) return true;
            if (Interlocked.CompareExchange(ref counter, current - 1, current) == current) return true;
        }
    }

    private static string Key(string repoId, string path) => repoId + "/" + path;
}
