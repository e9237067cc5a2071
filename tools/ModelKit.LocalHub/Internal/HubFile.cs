using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ModelKit.LocalHub.Internal;

/// <summary>One file of a repository as the hub describes it.</summary>
/// <param name="Path">The path inside the repository, '/'-separated.</param>
/// <param name="FullPath">Where it is on disk; null for the hostile names of <see cref="LocalHubFaults"/>, which have no file.</param>
/// <param name="Length">Its size in bytes.</param>
/// <param name="LastWriteUtc">When it was last written.</param>
/// <param name="GitSha1">The git blob id of its content.</param>
/// <param name="Sha256">The SHA-256 of its content, lower-case hex.</param>
/// <param name="IsLfs">Whether it is stored with LFS (resolve redirects to <c>/_lfs/{sha256}</c>).</param>
internal sealed record HubFile(string Path, string? FullPath, long Length, DateTime LastWriteUtc, string GitSha1, string Sha256, bool IsLfs)
{
    private string? _pointer;

    /// <summary>The git LFS pointer that stands for an LFS file in the repository.</summary>
    public string LfsPointer => _pointer ??= string.Create(CultureInfo.InvariantCulture,
        $"version https://git-lfs.github.com/spec/v1\noid sha256:{Sha256}\nsize {Length}\n");

    /// <summary>The size of <see cref="LfsPointer"/> in bytes.</summary>
    public int PointerSize => Encoding.UTF8.GetByteCount(LfsPointer);

    /// <summary>
    /// The git blob the repository holds for this path: the content's for a plain file, the pointer's for an LFS file (as on
    /// the Hugging Face Hub, where <c>blobId</c> and a tree entry's <c>oid</c> of an LFS file name its pointer).
    /// </summary>
    public string BlobId => IsLfs ? GitHashes.BlobSha1(Encoding.UTF8.GetBytes(LfsPointer)) : GitSha1;

    /// <summary>Describes a name that is listed but has no file: hashes of its UTF-8 bytes, as if that were its content.</summary>
    public static HubFile Phantom(string path, bool isLfs)
    {
        var bytes = Encoding.UTF8.GetBytes(path);
        return new HubFile(path, null, bytes.Length, DateTime.UnixEpoch, GitHashes.BlobSha1(bytes),
            Convert.ToHexStringLower(SHA256.HashData(bytes)), isLfs);
    }
}
