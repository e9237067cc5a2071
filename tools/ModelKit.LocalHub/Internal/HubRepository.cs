using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ModelKit.LocalHub.Internal;

/// <summary>A snapshot of one repository, read from disk for one request.</summary>
internal sealed class HubRepository
{
    private readonly Dictionary<string, HubFile> _byPath;

    public HubRepository(string owner, string name, string directory, IReadOnlyList<HubFile> files, HubMetadata metadata)
    {
        Owner = owner;
        Name = name;
        Directory = directory;
        Files = files;
        Metadata = metadata;
        _byPath = files.ToDictionary(f => f.Path, StringComparer.Ordinal);
        Commit = GitHashes.ListSha1(files.Select(f => (f.Path, f.BlobId)));
        var times = files.Select(f => f.LastWriteUtc).DefaultIfEmpty(System.IO.Directory.GetLastWriteTimeUtc(directory)).ToArray();
        CreatedAt = metadata.CreatedAt ?? FormatTime(times.Min());
        LastModified = metadata.LastModified ?? FormatTime(times.Max());
    }

    public string Owner { get; }

    public string Name { get; }

    public string Id => Owner + "/" + Name;

    public string Directory { get; }

    /// <summary>The files, sorted by path (ordinal); <c>.hub.json</c> is never among them.</summary>
    public IReadOnlyList<HubFile> Files { get; }

    public HubMetadata Metadata { get; }

    /// <summary>The commit: a SHA-1 over the sorted (path, blob id) pairs, so it changes when any file does.</summary>
    public string Commit { get; }

    public string CreatedAt { get; }

    public string LastModified { get; }

    /// <summary>A 24-hex-digit id in the form the hub's <c>_id</c> has, derived from the repository id.</summary>
    public string ObjectId => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Id)))[..24];

    public long UsedStorage => Files.Sum(f => f.Length);

    /// <summary>Whether <paramref name="revision"/> names this snapshot: <c>main</c> or the commit itself.</summary>
    public bool HasRevision(string revision) =>
        revision == "main" || string.Equals(revision, Commit, StringComparison.OrdinalIgnoreCase);

    public HubFile? Find(string path) => _byPath.GetValueOrDefault(path);

    private static string FormatTime(DateTime utc) => utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
