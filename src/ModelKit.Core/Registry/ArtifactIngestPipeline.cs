using System.Buffers;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using ModelKit.Backends;
using ModelKit.Tensors;

namespace ModelKit.Registry;

/// <summary>
/// The one way content enters the registry, for uploads now and downloads later: reserve the version (with the
/// upload's token, its lock held) → stream each file to <c>tmp/</c>, hashing it on the way and counting against
/// <see cref="ModelKitOptions.MaxArtifactBytes"/> → validate (the framework's backend loads the primary file, its
/// siblings beside it) → commit (blobs and the version's directory, inside the metadata transaction that marks the
/// version ready). On any failure the reservation is released and the temporary files deleted: no blob without a
/// row, and no version left uploading by a live process.
/// </summary>
internal sealed class ArtifactIngestPipeline
{
    private readonly IModelMetadataStore _store;
    private readonly ArtifactStore _artifacts;
    private readonly IReadOnlyList<IInferenceBackend> _backends;
    private readonly long _maxBytes;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Action<ModelRegistryChange> _changed;

    public ArtifactIngestPipeline(
        IModelMetadataStore store, ArtifactStore artifacts, IReadOnlyList<IInferenceBackend> backends, long maxBytes, TimeProvider timeProvider, ILogger logger,
        Action<ModelRegistryChange> changed)
    {
        _store = store;
        _artifacts = artifacts;
        _backends = backends;
        _maxBytes = maxBytes;
        _timeProvider = timeProvider;
        _logger = logger;
        _changed = changed;
    }

    /// <summary>Stores <paramref name="files"/> (checked names, primary first) as a version of <paramref name="model"/>; returns its label.</summary>
    public async Task<string> IngestAsync(ModelInfo model, string? version, IReadOnlyList<ArtifactSource> files, CancellationToken cancellationToken)
    {
        using var upload = UploadWorkspace.Create(_artifacts.TempDirectory, _artifacts.DataDirectoryId);
        var label = await _store.TryReserveVersionAsync(model.Id, version, upload.Token, _timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false)
            ?? throw (version is null
                ? new ModelNotFoundException($"Model '{model.Id}' does not exist.")
                : new ModelAlreadyExistsException($"Model '{model.Id}' already has a version '{version}'."));
        var (contentStored, committed) = (false, false);
        try
        {
            var stored = await ReceiveAsync(upload, files, cancellationToken).ConfigureAwait(false);
            var signature = await ValidateAsync(model.Framework, upload, stored[0].Name, cancellationToken).ConfigureAwait(false);
            await _artifacts.PrepareAsync(upload, stored, cancellationToken).ConfigureAwait(false);
            var commit = new ModelVersionCommit
            {
                ModelId = model.Id,
                Version = label,
                UploadToken = upload.Token,
                Files = stored,
                Signature = signature,
                CompletedAt = _timeProvider.GetUtcNow(),
            };
            committed = await _store.CompleteVersionAsync(
                commit,
                _ =>
                {
                    contentStored = true;
                    _artifacts.Commit(upload, model.Id, label, stored);
                    return Task.CompletedTask;
                },
                CancellationToken.None).ConfigureAwait(false);
            if (!committed)
            {
                throw new ModelKitConflictException($"Version '{label}' of model '{model.Id}' was deleted (or failed) while it was being uploaded; nothing was kept.");
            }

            Log.ModelRegistered(_logger, model.Id, label, commit.Files.Sum(f => f.SizeBytes), stored[0].Sha256);
            _changed(new ModelRegistryChange(ModelRegistryChangeKind.VersionReady, model.Id, label));
            return label;
        }
        catch (Exception ex)
        {
            // When the metadata transaction failed after the content step ran, the version's directory (still ours: the
            // reservation stands) is removed here; blobs it created stay, since removing them safely needs the
            // transaction, which wastes space but loses nothing.
            if (contentStored && !committed) _artifacts.DiscardVersionDirectory(model.Id, label);
            await ReleaseAsync(model.Id, label, upload.Token).ConfigureAwait(false);
            if (ex is not OperationCanceledException) Log.RegistrationFailed(_logger, model.Id, label, ex);
            throw;
        }
    }

    private async Task ReleaseAsync(string modelId, string version, string token)
    {
        try
        {
            if (await _store.ReleaseVersionAsync(modelId, version, token, CancellationToken.None).ConfigureAwait(false))
            {
                _changed(new ModelRegistryChange(ModelRegistryChangeKind.VersionFailed, modelId, version));
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The row stays uploading; once this upload's lock is released, the next start fails it.
            Log.RegistrationFailed(_logger, modelId, version, ex);
        }
    }

    private async Task<List<ModelArtifactFile>> ReceiveAsync(UploadWorkspace upload, IReadOnlyList<ArtifactSource> files, CancellationToken cancellationToken)
    {
        var stored = new List<ModelArtifactFile>(files.Count);
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
        long total = 0;
        try
        {
            foreach (var source in files)
            {
                var path = ArtifactNames.Combine(upload.FilesDirectory, source.Name);
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                long size = 0;
                var (content, owned) = await source.OpenAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
                    int read;
                    while ((read = await content.ReadAsync(buffer.AsMemory(), cancellationToken).ConfigureAwait(false)) > 0)
                    {
                        size += read;
                        total += read;
                        if (total > _maxBytes)
                        {
                            throw new PayloadTooLargeException(files.Count == 1
                                ? $"The artifact is larger than the limit of {_maxBytes} bytes (ModelKitOptions.MaxArtifactBytes)."
                                : $"The version's files together are larger than the limit of {_maxBytes} bytes (ModelKitOptions.MaxArtifactBytes).");
                        }

                        hash.AppendData(buffer, 0, read);
                        await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                    }

                    await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    if (owned) await content.DisposeAsync().ConfigureAwait(false);
                }

                if (size == 0 && stored.Count == 0)
                {
                    throw new InvalidModelConfigException(files.Count == 1 ? "The artifact is empty." : $"The primary file '{source.Name}' is empty.");
                }

                stored.Add(new ModelArtifactFile { Name = source.Name, Sha256 = Convert.ToHexStringLower(hash.GetHashAndReset()), SizeBytes = size });
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return stored;
    }

    // The backend loads the primary file where the other files sit beside it, as they will in the version's directory.
    private async Task<ModelSignature?> ValidateAsync(string framework, UploadWorkspace upload, string primary, CancellationToken cancellationToken)
    {
        // Frameworks without a backend are stored unchecked (no signature); they cannot be served until one is added.
        if (InferenceBackends.Find(_backends, framework) is not { } backend) return null;
        var request = new ModelLoadRequest(ArtifactNames.Combine(upload.FilesDirectory, primary)) { Framework = framework, IntraOpThreads = 1, VersionDirectory = upload.FilesDirectory };
        try
        {
            using var session = await backend.LoadAsync(request, cancellationToken).ConfigureAwait(false);
            return session.Signature;
        }
        catch (InvalidModelConfigException ex)
        {
            // The backend names the file it was given: keep the names as uploaded, never the server's directories.
            throw new InvalidModelConfigException(WithoutServerPaths(ex.Message, upload), ex);
        }
    }

    private string WithoutServerPaths(string message, UploadWorkspace upload) => message
        .Replace(upload.FilesDirectory + Path.DirectorySeparatorChar, string.Empty, StringComparison.Ordinal)
        .Replace(upload.FilesDirectory, ".", StringComparison.Ordinal)
        .Replace(_artifacts.TempDirectory, "<tmp>", StringComparison.Ordinal);
}
