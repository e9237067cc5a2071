using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace ModelKit.LocalHub.Internal;

/// <summary>Git object ids (SHA-1, as git defines them; not used for any security decision) and file content hashes.</summary>
[SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "Git names blobs, trees and commits by SHA-1; the hub reproduces those ids.")]
internal static class GitHashes
{
    /// <summary>The git blob id of <paramref name="content"/>: SHA-1 over <c>"blob {length}\0"</c> and the content.</summary>
    public static string BlobSha1(ReadOnlySpan<byte> content)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        sha1.AppendData(BlobHeader(content.Length));
        sha1.AppendData(content);
        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    /// <summary>An id over a sorted list of (path, blob id) pairs: the commit of a repository, the oid of a directory.</summary>
    public static string ListSha1(IEnumerable<(string Path, string Oid)> entries)
    {
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        foreach (var (path, oid) in entries.OrderBy(e => e.Path, StringComparer.Ordinal))
        {
            sha1.AppendData(Encoding.UTF8.GetBytes(path + "\0" + oid + "\n"));
        }

        return Convert.ToHexStringLower(sha1.GetHashAndReset());
    }

    /// <summary>Reads <paramref name="path"/> once for its git blob id and its SHA-256; the length is the one the open file has.</summary>
    public static (long Length, string GitSha1, string Sha256) HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        var length = stream.Length;
        using var sha1 = IncrementalHash.CreateHash(HashAlgorithmName.SHA1);
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha1.AppendData(BlobHeader(length));
        var buffer = new byte[1 << 16];
        long remaining = length;
        while (remaining > 0)
        {
            var read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
            if (read == 0) throw new IOException($"'{path}' became shorter while it was hashed ({length} bytes expected).");
            sha1.AppendData(buffer, 0, read);
            sha256.AppendData(buffer, 0, read);
            remaining -= read;
        }

        return (length, Convert.ToHexStringLower(sha1.GetHashAndReset()), Convert.ToHexStringLower(sha256.GetHashAndReset()));
    }

    private static byte[] BlobHeader(long length) => Encoding.ASCII.GetBytes("blob " + length.ToString(CultureInfo.InvariantCulture) + "\0");
}
