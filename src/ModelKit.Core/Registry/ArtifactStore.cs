using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;

namespace ModelKit.Registry;

/// <summary>
/// The content-addressed artifact store under the data directory. Every file's content is stored once, as
/// <c>blobs/sha256/ab/abcd…</c>. A version of one file is loaded from its blob; a version of several files is
/// presented in its own directory, <c>versions/xy/xyz…</c> (named by a hash of model id and version, never by the id
/// itself), where each file sits at its relative name as a hard link to its blob (a copy where the file system has no
/// hard links), so that ONNX external data and tokenizer files are found beside the model. It also verifies content:
/// each sha256 is hashed on its first verification after the process started (so also after this process received
/// it: the file may be damaged since), not again, and a mismatch is remembered for every version sharing that content.
/// </summary>
internal sealed class ArtifactStore
{
    private readonly string _blobRoot;
    private readonly string _versionRoot;
    private readonly ILogger _logger;
    // Blobs hashed since start, by sha256: true when the content matched (verified), false when it did not (corrupt).
    private readonly ConcurrentDictionary<string, bool> _checked = new(StringComparer.Ordinal);

    private readonly IReadOnlyList<IArtifactPeerSource> _sources;

    public ArtifactStore(string dataDirectory, ILogger logger, IReadOnlyList<IArtifactPeerSource>? sources = null)
    {
        _sources = sources ?? [];
        _blobRoot = Path.Combine(dataDirectory, "blobs", "sha256");
        _versionRoot = Path.Combine(dataDirectory, "versions");
        TempDirectory = Path.Combine(dataDirectory, "tmp");
        _logger = logger;
        Directory.CreateDirectory(_blobRoot);
        Directory.CreateDirectory(_versionRoot);
        Directory.CreateDirectory(TempDirectory);
        DataDirectoryId = ReadOrCreateId(Path.Combine(dataDirectory, "data-directory-id"));
    }

    /// <summary>
    /// This data directory's id (12 hex digits, in the file <c>data-directory-id</c>, made on first use): the start of
    /// the tokens of the uploads it receives.
    /// </summary>
    public string DataDirectoryId { get; }

    /// <summary>Where uploads keep their lock files and the files they receive (<c>tmp/</c>).</summary>
    public string TempDirectory { get; }

    public string BlobPath(string sha256) => Path.Combine(_blobRoot, sha256[..2], sha256);

    /// <summary>The directory presenting a version of several files.</summary>
    public string VersionDirectory(string modelId, string version)
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(modelId + "\n" + version)))[..32];
        return Path.Combine(_versionRoot, key[..2], key);
    }

    /// <summary>The model with every file's <see cref="ModelArtifactFile.Path"/> filled in.</summary>
    public ModelInfo Locate(ModelInfo model)
    {
        if (model.Versions.Count == 0) return model;
        var versions = new ModelVersionInfo[model.Versions.Count];
        for (var i = 0; i < versions.Length; i++) versions[i] = Locate(model.Versions[i]);
        return model with { Versions = versions };
    }

    private ModelVersionInfo Locate(ModelVersionInfo version)
    {
        if (version.Files.Count == 0) return version;
        var files = new ModelArtifactFile[version.Files.Count];
        for (var i = 0; i < files.Length; i++) files[i] = version.Files[i] with { Path = FilePath(version.ModelId, version.Version, version.Files, i) };
        return version with { Files = files };
    }

    private string FilePath(string modelId, string version, IReadOnlyList<ModelArtifactFile> files, int index) =>
        files.Count == 1 ? BlobPath(files[0].Sha256) : ArtifactNames.Combine(VersionDirectory(modelId, version), files[index].Name);

    /// <summary>
    /// Before an upload commits: content that is already stored and not yet verified in this process is hashed, and
    /// repaired from the upload's copy when it does not match (so uploading again heals every version sharing it).
    /// Runs outside the metadata transaction, which it would otherwise hold for as long as hashing takes.
    /// </summary>
    public async Task PrepareAsync(UploadWorkspace upload, IReadOnlyList<ModelArtifactFile> files, CancellationToken cancellationToken)
    {
        foreach (var file in files)
        {
            var blob = BlobPath(file.Sha256);
            if (IsVerified(file.Sha256) || !File.Exists(blob)) continue;
            // Not remembered as verified: that is for the first load, which hashes what it is about to serve.
            if (!IsCorrupt(file.Sha256) && await TryHashAsync(blob, cancellationToken).ConfigureAwait(false) == file.Sha256) continue;

            // Written in place, so that the versions' directories, which link to this very file, see it too.
            var staged = ArtifactNames.Combine(upload.FilesDirectory, file.Name);
            try
            {
                using var source = new FileStream(staged, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
                using var target = new FileStream(blob, FileMode.Truncate, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
                await source.CopyToAsync(target, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                continue; // deleted meanwhile: the commit stores it afresh
            }

            _checked.TryRemove(file.Sha256, out _);
            Log.BlobRepaired(_logger, file.Sha256);
        }
    }

    /// <summary>
    /// Inside the metadata transaction: stores the upload's files as blobs (content already stored is not stored
    /// again) and, for a version of several files, turns the upload's folder into the version's directory of links.
    /// </summary>
    public void Commit(UploadWorkspace upload, string modelId, string version, IReadOnlyList<ModelArtifactFile> files)
    {
        var single = files.Count == 1;
        var created = new List<string>();
        try
        {
            foreach (var file in files)
            {
                var staged = ArtifactNames.Combine(upload.FilesDirectory, file.Name);
                var blob = BlobPath(file.Sha256);
                Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
                if (!File.Exists(blob))
                {
                    if (single) File.Move(staged, blob);
                    else if (!HardLink.TryCreate(staged, blob)) CopyInto(staged, blob, upload.Root);
                    created.Add(blob);
                }
                else if (!single)
                {
                    HardLink.Replace(blob, staged); // the content once on disk, and the very file that is verified
                }
            }

            if (single) return;
            var directory = VersionDirectory(modelId, version);
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true); // left by a version deleted while in use
            Directory.CreateDirectory(Path.GetDirectoryName(directory)!);
            Directory.Move(upload.FilesDirectory, directory);
        }
        catch
        {
            // Still inside the transaction, so no other version can have started to use them: no blob without a row.
            foreach (var blob in created) TryDelete(blob);
            throw;
        }
    }

    // The id in the file, or a new one written there (through a temporary file, so that a reader never sees it half-written;
    // when two processes create it at once, the first to move its file into place wins and both read that one).
    private static string ReadOrCreateId(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                var id = File.ReadAllText(path).Trim();
                if (id.Length == 12 && id.AsSpan().IndexOfAnyExcept(ArtifactNames.LowerHex) < 0) return id;
                if (attempt > 0) throw new InvalidOperationException("The data directory's id file (data-directory-id) is damaged; delete it, with no upload in progress.");
                File.Delete(path);
            }
            catch (Exception ex) when (ex is FileNotFoundException && attempt < 3)
            {
                var temporary = path + "." + Guid.NewGuid().ToString("N");
                File.WriteAllText(temporary, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
                try
                {
                    File.Move(temporary, path, overwrite: false);
                }
                catch (IOException) when (File.Exists(path))
                {
                    File.Delete(temporary);
                }
            }
        }
    }

    private bool IsVerified(string sha256) => _checked.TryGetValue(sha256, out var matched) && matched;

    private bool IsCorrupt(string sha256) => _checked.TryGetValue(sha256, out var matched) && !matched;

    /// <summary>Inside the metadata transaction of a deletion: removes the versions' directories and the unreferenced blobs.</summary>
    public void Release(ReleasedContent released)
    {
        foreach (var version in released.Versions) DiscardVersionDirectory(released.ModelId, version);

        foreach (var sha256 in released.UnreferencedSha256)
        {
            _checked.TryRemove(sha256, out _);
            TryDelete(BlobPath(sha256));
        }
    }

    /// <summary>Removes the directory of a version that was deleted or never became ready.</summary>
    public void DiscardVersionDirectory(string modelId, string version)
    {
        var directory = VersionDirectory(modelId, version);
        try
        {
            if (Directory.Exists(directory)) Directory.Delete(directory, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A file in use (Windows): the directory is replaced when the version is uploaded again.
        }
    }

    /// <summary>
    /// Checks that every file of <paramref name="version"/> is present and readable and, the first time its content is
    /// seen in this process, that it matches its sha256. Throws <see cref="ModelUnavailableException"/> naming the model,
    /// the version and the file's relative name, never a path.
    /// </summary>
    public async Task VerifyAsync(ModelVersionInfo version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(version);
        for (var i = 0; i < version.Files.Count; i++)
        {
            var file = version.Files[i];
            var blob = BlobPath(file.Sha256);
            var path = FilePath(version.ModelId, version.Version, version.Files, i);
            if (IsCorrupt(file.Sha256)) throw Corrupt(version, file, path);
            if (!File.Exists(blob) && !await TryFetchAsync(file, blob, cancellationToken).ConfigureAwait(false)) throw Missing(version, file, blob, null);
            if (!File.Exists(path))
            {
                // The version's directory lost a link (or a crash came between commit and presentation): rebuild it from the blob.
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    HardLink.Replace(blob, path);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw Missing(version, file, path, ex);
                }
            }

            if (IsVerified(file.Sha256)) continue;
            string actual;
            try
            {
                actual = await HashAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw Missing(version, file, path, ex);
            }

            if (!string.Equals(actual, file.Sha256, StringComparison.Ordinal))
            {
                _checked[file.Sha256] = false;
                throw Corrupt(version, file, path);
            }

            _checked[file.Sha256] = true;
        }
    }

    /// <summary>The stored file with content <paramref name="sha256"/>, or null when this data directory does not have it.</summary>
    public string? FindBlob(string sha256) => ArtifactNames.IsSha256(sha256) && File.Exists(BlobPath(sha256)) ? BlobPath(sha256) : null;

    // A file this node lacks, from the first copy the peer sources offer whose size and sha256 match the record: read into
    // tmp/ while hashed, and moved into place only when it matches, so that no half-read or foreign content is ever a blob.
    private async Task<bool> TryFetchAsync(ModelArtifactFile file, string blob, CancellationToken cancellationToken)
    {
        foreach (var source in _sources)
        {
            IReadOnlyList<ArtifactCopy> copies;
            try
            {
                copies = await source.FindAsync(file.Sha256, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Log.ArtifactFetchFailed(_logger, file.Sha256, source.GetType().Name, ex.Message);
                continue;
            }

            foreach (var copy in copies)
            {
                if (await TryFetchAsync(file, blob, copy, cancellationToken).ConfigureAwait(false)) return true;
            }
        }

        return false;
    }

    private async Task<bool> TryFetchAsync(ModelArtifactFile file, string blob, ArtifactCopy copy, CancellationToken cancellationToken)
    {
        var temporary = Path.Combine(TempDirectory, $"fetch-{file.Sha256[..16]}-{Guid.NewGuid():N}.part");
        try
        {
            long length = 0;
            string actual;
            using (var source = await copy.OpenAsync(cancellationToken).ConfigureAwait(false))
            using (var target = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    length += read;
                    if (length > file.SizeBytes) break; // more than the record: not this content
                    hash.AppendData(buffer, 0, read);
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }

                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            if (length != file.SizeBytes || !string.Equals(actual, file.Sha256, StringComparison.Ordinal))
            {
                Log.ArtifactFetchRejected(_logger, file.Sha256, copy.Description, length, file.SizeBytes);
                return false;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
            try
            {
                File.Move(temporary, blob, overwrite: false);
            }
            catch (IOException) when (File.Exists(blob))
            {
                // Fetched meanwhile by another request for the same content: that copy matched too.
            }

            _checked[file.Sha256] = true;
            Log.ArtifactFetched(_logger, file.Sha256, copy.Description, length);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.ArtifactFetchFailed(_logger, file.Sha256, copy.Description, ex.Message);
            return false;
        }
        finally
        {
            TryDelete(temporary);
        }
    }

    private ModelUnavailableException Missing(ModelVersionInfo version, ModelArtifactFile file, string path, Exception? exception)
    {
        Log.ArtifactUnavailable(_logger, version.ModelId, version.Version, path, exception);
        // With other places to fetch from (a cluster's nodes, a mirror), the file may come back with them: say so.
        return new ModelUnavailableException(_sources.Count == 0
            ? $"Version '{version.Version}' of model '{version.ModelId}' cannot be served: its file '{file.Name}' is missing or unreadable on the server. Delete the version and upload it again."
            : $"Version '{version.Version}' of model '{version.ModelId}' cannot be served: its file '{file.Name}' is missing or unreadable on this node, and no other node or mirror has a good copy now. Try again once the node it was uploaded through is back, or delete the version and upload it again.",
            exception);
    }

    private ModelUnavailableException Corrupt(ModelVersionInfo version, ModelArtifactFile file, string path)
    {
        Log.ArtifactUnavailable(_logger, version.ModelId, version.Version, path, null);
        return new ModelUnavailableException(
            $"Version '{version.Version}' of model '{version.ModelId}' cannot be served: its file '{file.Name}' does not match its recorded sha256 (the stored content is corrupt). Delete the version and upload it again.");
    }

    private static async Task<string> HashAsync(string path, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, useAsync: true);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<string?> TryHashAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await HashAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Held open elsewhere (Windows): the content stays, which wastes space but loses nothing.
        }
    }

    // Where hard links are not available: copy beside the upload, then move into place in one step.
    private static void CopyInto(string source, string blob, string scratch)
    {
        var temporary = Path.Combine(scratch, Path.GetFileName(blob) + ".copy");
        File.Copy(source, temporary, overwrite: true);
        File.Move(temporary, blob, overwrite: false);
    }
}
