namespace ModelKit.Registry;

/// <summary>
/// Files by sha256 from a directory laid out as a ModelKit data directory's content store (<c>blobs/sha256/ab/abcd…</c>), for
/// example another node's data directory or a mirror on a shared file system. Registered with
/// <c>AddModelKit(...).AddArtifactDirectory(path)</c>.
/// </summary>
public sealed class DirectoryArtifactSource : IArtifactPeerSource
{
    private readonly string _root;

    /// <summary>Reads from <paramref name="directory"/>'s <c>blobs/</c> folder.</summary>
    public DirectoryArtifactSource(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _root = Path.GetFullPath(directory);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ArtifactCopy>> FindAsync(string sha256, CancellationToken cancellationToken = default)
    {
        if (!ArtifactNames.IsSha256(sha256)) return Task.FromResult<IReadOnlyList<ArtifactCopy>>([]);
        var path = Path.Combine(_root, "blobs", "sha256", sha256[..2], sha256);
        IReadOnlyList<ArtifactCopy> copies = File.Exists(path)
            ? [new ArtifactCopy("shared directory", _ => Task.FromResult<Stream>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true)))]
            : [];
        return Task.FromResult(copies);
    }
}
