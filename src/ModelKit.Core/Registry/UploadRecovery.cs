using Microsoft.Extensions.Logging;

namespace ModelKit.Registry;

/// <summary>
/// Crash recovery, run once when a registry starts: a version left uploading by a process that stopped (its upload's
/// lock is free, or it records no token) becomes failed with <see cref="InterruptedReason"/>, so that it can be
/// uploaded again or deleted; then the temporary files of every upload whose process is gone are deleted, whatever
/// their age. Uploads of live processes sharing the data directory hold their locks and are left alone.
/// </summary>
/// <remarks>
/// Uploads received into another data directory (nodes with data directories of their own over one server database)
/// are left alone: their tokens start with that directory's id. An upload of a node that died for good stays uploading
/// until that node starts again over its directory, or the version is deleted.
/// </remarks>
internal sealed class UploadRecovery(IModelMetadataStore store, ArtifactStore artifacts, ILogger logger, Action<ModelRegistryChange> changed)
{
    /// <summary>The <see cref="ModelVersionInfo.Error"/> of a version whose upload died with its process.</summary>
    public const string InterruptedReason =
        "The upload was interrupted: the process receiving it stopped before the version was stored. Upload the version again, or delete it.";

    private const string LegacyExtension = ".part";

    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        foreach (var upload in await store.ListUploadsAsync(cancellationToken).ConfigureAwait(false))
        {
            // Received by a node over another data directory (its token starts with that directory's id): not ours to judge.
            if (upload.UploadToken is { } token && token.IndexOf('-', StringComparison.Ordinal) is > 0 and var dash && token[..dash] != artifacts.DataDirectoryId) continue;
            var claim = upload.UploadToken is null ? null : UploadWorkspace.TryClaimAbandoned(artifacts.TempDirectory, upload.UploadToken);
            if (upload.UploadToken is not null && claim is null) continue; // its process is alive and holds the lock
            using (claim)
            {
                if (await store.FailVersionAsync(upload.ModelId, upload.Version, upload.UploadToken, InterruptedReason, cancellationToken).ConfigureAwait(false))
                {
                    Log.UploadInterrupted(logger, upload.ModelId, upload.Version);
                    changed(new ModelRegistryChange(ModelRegistryChangeKind.VersionFailed, upload.ModelId, upload.Version));
                }
            }
        }

        SweepTemporaryFiles();
    }

    private void SweepTemporaryFiles()
    {
        var tokens = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(artifacts.TempDirectory))
        {
            var name = Path.GetFileName(entry);
            if (name.EndsWith(UploadWorkspace.LockExtension, StringComparison.Ordinal)) tokens.Add(name[..^UploadWorkspace.LockExtension.Length]);
            else if (Directory.Exists(entry)) tokens.Add(name);
            else if (name.EndsWith(LegacyExtension, StringComparison.Ordinal)) DeleteLegacyUpload(entry);
        }

        foreach (var token in tokens)
        {
            using var claim = UploadWorkspace.TryClaimAbandoned(artifacts.TempDirectory, token);
            if (claim is not null) Log.AbandonedUploadDeleted(logger, claim.Root);
        }
    }

    // Earlier releases streamed an upload to tmp/{guid}.part, holding it with FileShare.None while it was received.
    private void DeleteLegacyUpload(string path)
    {
        try
        {
            using (new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.DeleteOnClose))
            {
            }

            Log.AbandonedUploadDeleted(logger, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Held by a live process, or gone meanwhile.
        }
    }
}
