using System.Collections.Concurrent;

namespace ModelKit.LocalHub.Internal;

/// <summary>
/// Reads repositories from <c>{root}/{owner}/{name}</c> at request time. Hashes of files of 1 MiB and more are cached by
/// path, length and last write time (smaller files are hashed on every read: cheap, and never stale when a test rewrites
/// a file within the file system's clock tick).
/// </summary>
internal sealed class RepositoryStore(string root, long lfsThresholdBytes)
{
    private const long CacheFromBytes = 1 << 20;

    private static readonly string[] LfsExtensions = [".onnx", ".data", ".onnx_data", ".bin", ".safetensors", ".pb"];

    private static readonly EnumerationOptions AllFiles = new()
    {
        RecurseSubdirectories = true,
        AttributesToSkip = FileAttributes.ReparsePoint,
        IgnoreInaccessible = true,
    };

    private static readonly EnumerationOptions Children = new()
    {
        AttributesToSkip = FileAttributes.ReparsePoint,
        IgnoreInaccessible = true,
    };

    private readonly ConcurrentDictionary<string, CachedHashes> _hashes = new(StringComparer.Ordinal);

    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>Opens <paramref name="owner"/>/<paramref name="name"/>; null when either is not a plain name or there is no such folder.</summary>
    public HubRepository? Open(string owner, string name)
    {
        if (!HubPaths.IsRepoSegment(owner) || !HubPaths.IsRepoSegment(name)) return null;
        var directory = Path.Combine(Root, owner, name);
        return Directory.Exists(directory) ? Load(owner, name, directory) : null;
    }

    /// <summary>Every repository under the root, sorted by id.</summary>
    public IReadOnlyList<HubRepository> OpenAll()
    {
        var repositories = new List<HubRepository>();
        if (!Directory.Exists(Root)) return repositories;
        foreach (var ownerDirectory in Directory.EnumerateDirectories(Root, "*", Children).Order(StringComparer.Ordinal))
        {
            var owner = Path.GetFileName(ownerDirectory);
            if (!HubPaths.IsRepoSegment(owner)) continue;
            foreach (var repoDirectory in Directory.EnumerateDirectories(ownerDirectory, "*", Children).Order(StringComparer.Ordinal))
            {
                var name = Path.GetFileName(repoDirectory);
                if (HubPaths.IsRepoSegment(name)) repositories.Add(Load(owner, name, repoDirectory));
            }
        }

        return repositories;
    }

    /// <summary>The first LFS file (by repository id, then path) whose content has <paramref name="sha256"/>, and its repository.</summary>
    public (HubRepository Repository, HubFile File)? FindLfs(string sha256)
    {
        foreach (var repository in OpenAll())
        {
            foreach (var file in repository.Files)
            {
                if (file.IsLfs && string.Equals(file.Sha256, sha256, StringComparison.OrdinalIgnoreCase)) return (repository, file);
            }
        }

        return null;
    }

    /// <summary>Whether a file of this path and size is stored with LFS.</summary>
    public bool IsLfs(string path, long length) =>
        length >= lfsThresholdBytes || Array.Exists(LfsExtensions, e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    private HubRepository Load(string owner, string name, string directory)
    {
        var files = new List<HubFile>();
        foreach (var fullPath in Directory.EnumerateFiles(directory, "*", AllFiles))
        {
            var path = Path.GetRelativePath(directory, fullPath).Replace(Path.DirectorySeparatorChar, '/');
            if (path == HubMetadata.FileName || path == ".git" || path.StartsWith(".git/", StringComparison.Ordinal)) continue;
            FileInfo info = new(fullPath);
            if (!info.Exists) continue;
            try
            {
                var (length, gitSha1, sha256) = Hash(fullPath, info);
                files.Add(new HubFile(path, fullPath, length, info.LastWriteTimeUtc, gitSha1, sha256, IsLfs(path, length)));
            }
            catch (FileNotFoundException)
            {
                // Deleted between the listing and the read: not part of this snapshot.
            }
        }

        files.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return new HubRepository(owner, name, directory, files, HubMetadata.Read(Path.Combine(directory, HubMetadata.FileName)));
    }

    private (long Length, string GitSha1, string Sha256) Hash(string fullPath, FileInfo info)
    {
        if (info.Length < CacheFromBytes) return GitHashes.HashFile(fullPath);
        var stamp = info.LastWriteTimeUtc.Ticks;
        if (_hashes.TryGetValue(fullPath, out var cached) && cached.Length == info.Length && cached.LastWriteTicks == stamp)
        {
            return (cached.Length, cached.GitSha1, cached.Sha256);
        }

        var hashed = GitHashes.HashFile(fullPath);
        if (hashed.Length == info.Length) _hashes[fullPath] = new CachedHashes(hashed.Length, stamp, hashed.GitSha1, hashed.Sha256);
        return hashed;
    }

    private sealed record CachedHashes(long Length, long LastWriteTicks, string GitSha1, string Sha256);
}
