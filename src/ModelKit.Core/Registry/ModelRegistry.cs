using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Backends;

namespace ModelKit.Registry;

/// <summary>
/// The model registry: a metadata store (embedded SQLite, <c>registry.db</c> in
/// <see cref="ModelKitOptions.DataDirectory"/>, unless another <see cref="IModelMetadataStore"/> is given), a
/// content-addressed artifact store (<c>blobs/</c>, <c>versions/</c>) and one ingest pipeline (<c>tmp/</c>).
/// Several processes may share one data directory.
/// </summary>
/// <remarks>
/// When first used, the registry readies the store (creating or migrating its schema) and recovers from crashes:
/// versions left uploading by a process that stopped become <see cref="ModelVersionStatus.Failed"/>, with a reason,
/// and the temporary files of dead uploads are deleted. While the store's database cannot be reached, every call that
/// needs it fails with <see cref="RegistryUnavailableException"/> (and the start is tried again by the next call).
/// </remarks>
public sealed class ModelRegistry : IModelRegistry
{
    private const int MaxTextLength = 4096;
    private readonly IModelMetadataStore _store;
    private readonly ArtifactStore _artifacts;
    private readonly ArtifactIngestPipeline _ingest;
    private readonly UploadRecovery _recovery;
    private readonly IReadOnlyList<IModelUsageGuard> _guards;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Lock _initializeGate = new();
    private Task? _initialization;

    /// <summary>Opens (and creates when missing) the registry under <see cref="ModelKitOptions.DataDirectory"/>, with its metadata in SQLite.</summary>
    public ModelRegistry(
        IOptions<ModelKitOptions> options,
        IEnumerable<IInferenceBackend> backends,
        IEnumerable<IModelUsageGuard>? guards = null,
        TimeProvider? timeProvider = null,
        ILogger<ModelRegistry>? logger = null)
        : this(CreateSqliteStore(options, logger), options, backends, guards, timeProvider, logger)
    {
    }

    /// <summary>
    /// Opens the registry with its metadata in <paramref name="store"/> and its artifacts under
    /// <see cref="ModelKitOptions.DataDirectory"/>; a file a version needs and this data directory lacks is fetched from
    /// <paramref name="artifactSources"/> (other nodes, a shared directory) by its sha256, and kept only if it matches.
    /// </summary>
    public ModelRegistry(
        IModelMetadataStore store,
        IOptions<ModelKitOptions> options,
        IEnumerable<IInferenceBackend> backends,
        IEnumerable<IModelUsageGuard>? guards = null,
        TimeProvider? timeProvider = null,
        ILogger<ModelRegistry>? logger = null,
        IEnumerable<IArtifactPeerSource>? artifactSources = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(backends);
        _guards = guards is null ? [] : [.. guards];
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _store = store = new StoreFaults(store, _logger);
        _artifacts = new ArtifactStore(DataDirectory(options), _logger, artifactSources is null ? null : [.. artifactSources]);
        _ingest = new ArtifactIngestPipeline(store, _artifacts, [.. backends], options.Value.MaxArtifactBytes, _timeProvider, _logger, RaiseChanged);
        _recovery = new UploadRecovery(store, _artifacts, _logger, RaiseChanged);
    }

    /// <inheritdoc />
    public event EventHandler<ModelRegistryChange>? Changed;

    /// <inheritdoc />
    public async Task<ModelInfo> CreateModelAsync(ModelDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(definition.Name)) errors.Add("'name' is required.");
        else if (definition.Name.Length > 256) errors.Add("'name' must be at most 256 characters.");
        var id = definition.Id ?? ModelIdentifiers.Slugify(definition.Name ?? string.Empty);
        if (!ModelIdentifiers.IsValidModelId(id)) errors.Add($"'id' must be {ModelIdentifiers.IdRule} (was '{ClientText.Quote(id)}').");
        if (string.IsNullOrWhiteSpace(definition.Framework) || definition.Framework.Length > 64) errors.Add("'framework' is required (at most 64 characters).");
        if (definition.Description is { Length: > MaxTextLength }) errors.Add($"'description' must be at most {MaxTextLength} characters.");
        if (errors.Count > 0) throw new InvalidModelConfigException(string.Join(" ", errors));

        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var now = _timeProvider.GetUtcNow();
        var model = new ModelInfo
        {
            Id = id,
            Name = definition.Name!.Trim(),
            Description = definition.Description,
            Framework = definition.Framework.Trim().ToLowerInvariant(),
            Task = definition.Task,
            Tags = definition.Tags ?? [],
            Metadata = definition.Metadata ?? new Dictionary<string, string>(),
            CreatedAt = now,
            UpdatedAt = now,
        };
        if (!await _store.TryCreateModelAsync(model, cancellationToken).ConfigureAwait(false))
        {
            throw new ModelAlreadyExistsException($"A model with id '{id}' already exists.");
        }

        RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.ModelCreated, id));
        return await GetModelAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<ModelInfo> RegisterAsync(ModelDefinition definition, Stream content, string fileName, string? version = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return RegisterAsync(definition, [new ArtifactSource(ArtifactNames.ValidatePlain(fileName), content)], primaryFile: null, version, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ModelInfo> RegisterAsync(
        ModelDefinition definition, IReadOnlyList<ArtifactSource> files, string? primaryFile = null, string? version = null, CancellationToken cancellationToken = default)
    {
        var ordered = ArtifactNames.OrderWithPrimaryFirst(files, primaryFile);
        ValidateVersion(version);
        var model = await CreateModelAsync(definition, cancellationToken).ConfigureAwait(false);
        try
        {
            await _ingest.IngestAsync(model, version, ordered, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            if (await _store.DeleteAsync(model.Id, null, ReleaseContentAsync, CancellationToken.None).ConfigureAwait(false))
            {
                RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.ModelDeleted, model.Id));
            }

            throw;
        }

        return await GetModelAsync(model.Id, CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task<ModelVersionInfo> AddVersionAsync(string modelId, string? version, Stream content, string fileName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return AddVersionAsync(modelId, version, [new ArtifactSource(ArtifactNames.ValidatePlain(fileName), content)], primaryFile: null, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<ModelVersionInfo> AddVersionAsync(
        string modelId, string? version, IReadOnlyList<ArtifactSource> files, string? primaryFile = null, CancellationToken cancellationToken = default)
    {
        var ordered = ArtifactNames.OrderWithPrimaryFirst(files, primaryFile);
        ValidateVersion(version);
        var model = await GetModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        var label = await _ingest.IngestAsync(model, version, ordered, cancellationToken).ConfigureAwait(false);
        var updated = await GetModelAsync(model.Id, CancellationToken.None).ConfigureAwait(false);
        return updated.FindVersion(label) ?? throw new ModelNotFoundException($"Version '{label}' of model '{model.Id}' was deleted right after it was stored.");
    }

    /// <inheritdoc />
    public async Task<ModelInfo> GetModelAsync(string modelId, CancellationToken cancellationToken = default) =>
        await FindModelAsync(modelId, cancellationToken).ConfigureAwait(false)
        ?? throw new ModelNotFoundException($"Model '{ClientText.Quote(modelId)}' does not exist.");

    /// <inheritdoc />
    public async Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(modelId)) return null;
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var model = await _store.FindModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        return model is null ? null : _artifacts.Locate(model);
    }

    /// <inheritdoc />
    public async Task<ModelPage> ListModelsAsync(ModelQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Offset < 0) throw new InvalidInputException($"'offset' must be 0 or more (was {query.Offset}).");
        if (query.Limit is < 1 or > 1000) throw new InvalidInputException($"'limit' must be 1..1000 (was {query.Limit}).");
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        var page = await _store.ListModelsAsync(query, cancellationToken).ConfigureAwait(false);
        var items = new ModelInfo[page.Items.Count];
        for (var i = 0; i < items.Length; i++) items[i] = _artifacts.Locate(page.Items[i]);
        return page with { Items = items };
    }

    /// <inheritdoc />
    public async Task<ModelInfo> UpdateModelAsync(string modelId, ModelUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var model = await GetModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        var errors = new List<string>();
        if (update.Name is { } name && (string.IsNullOrWhiteSpace(name) || name.Length > 256)) errors.Add("'name' must be 1-256 characters.");
        if (update.Description is { Length: > MaxTextLength }) errors.Add($"'description' must be at most {MaxTextLength} characters.");
        if (update.DefaultVersion is { } dv)
        {
            var v = model.FindVersion(dv);
            if (v is null) errors.Add($"'default_version' names version '{dv}', which model '{modelId}' does not have.");
            else if (v.Status != ModelVersionStatus.Ready) errors.Add($"'default_version' names version '{dv}', which is {ModelVersionStatusNames.Name(v.Status)}, not ready.");
        }

        if (errors.Count > 0) throw new InvalidModelConfigException(string.Join(" ", errors));
        var result = await _store.UpdateModelAsync(model.Id, update with { Name = update.Name?.Trim() }, _timeProvider.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        switch (result)
        {
            case ModelUpdateResult.ModelNotFound:
                throw new ModelNotFoundException($"Model '{ClientText.Quote(modelId)}' does not exist.");
            case ModelUpdateResult.DefaultVersionNotReady:
                throw new InvalidModelConfigException($"'default_version' names version '{update.DefaultVersion}', which was deleted or is no longer ready.");
        }

        RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.ModelUpdated, model.Id));
        return await GetModelAsync(model.Id, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task DeleteModelAsync(string modelId, bool force = false, CancellationToken cancellationToken = default)
    {
        var model = await GetModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        var inUse = EnsureNotInUse(model.Id, null, force);
        if (!await _store.DeleteAsync(model.Id, null, ReleaseContentAsync, cancellationToken).ConfigureAwait(false))
        {
            throw new ModelNotFoundException($"Model '{ClientText.Quote(modelId)}' does not exist.");
        }

        Log.ModelDeleted(_logger, model.Id);
        RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.ModelDeleted, model.Id));
        if (inUse) NotifyForcedDelete(model.Id, null);
    }

    /// <inheritdoc />
    public async Task DeleteVersionAsync(string modelId, string version, bool force = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        var model = await GetModelAsync(modelId, cancellationToken).ConfigureAwait(false);
        if (model.FindVersion(version) is null) throw new ModelNotFoundException($"Model '{ClientText.Quote(modelId)}' has no version '{ClientText.Quote(version)}'.");
        var inUse = EnsureNotInUse(model.Id, version, force);
        if (!await _store.DeleteAsync(model.Id, version, ReleaseContentAsync, cancellationToken).ConfigureAwait(false))
        {
            throw new ModelNotFoundException($"Model '{ClientText.Quote(modelId)}' has no version '{ClientText.Quote(version)}'.");
        }

        RaiseChanged(new ModelRegistryChange(ModelRegistryChangeKind.VersionDeleted, model.Id, version));
        if (inUse) NotifyForcedDelete(model.Id, version);
    }

    /// <inheritdoc />
    public async Task VerifyArtifactsAsync(ModelVersionInfo version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(version);
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await _artifacts.VerifyAsync(version, cancellationToken).ConfigureAwait(false);
    }

    // The store and the recovery run once, on first use, whoever asks first; a failed start is tried again by the next caller.
    private Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        var initialization = Volatile.Read(ref _initialization);
        if (initialization is { IsCompletedSuccessfully: true }) return Task.CompletedTask;
        lock (_initializeGate)
        {
            if (_initialization is null || _initialization.IsFaulted || _initialization.IsCanceled) _initialization = Task.Run(InitializeAsync, CancellationToken.None);
            initialization = _initialization;
        }

        return initialization.WaitAsync(cancellationToken);
    }

    private async Task InitializeAsync()
    {
        await _store.InitializeAsync(CancellationToken.None).ConfigureAwait(false);
        await _recovery.RecoverAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The stored file with content <paramref name="sha256"/> in this node's data directory, or null (other nodes fetch from it).</summary>
    internal string? FindStoredContent(string sha256) => _artifacts.FindBlob(sha256);

    private Task ReleaseContentAsync(ReleasedContent released, CancellationToken cancellationToken)
    {
        _artifacts.Release(released);
        return Task.CompletedTask;
    }

    private void RaiseChanged(ModelRegistryChange change) => Changed?.Invoke(this, change);

    // Throws CONFLICT when a guard reports the model in use, unless forced; returns whether it was in use.
    private bool EnsureNotInUse(string modelId, string? version, bool force)
    {
        var inUse = false;
        foreach (var guard in _guards)
        {
            if (guard.GetUsage(modelId, version) is { } usage)
            {
                if (!force) throw new ModelKitConflictException($"Model '{modelId}' is in use ({usage}); undeploy it first or pass force=true.");
                inUse = true;
            }
        }

        return inUse;
    }

    private void NotifyForcedDelete(string modelId, string? version)
    {
        foreach (var guard in _guards) guard.OnForcedDelete(modelId, version);
    }

    private static void ValidateVersion(string? version)
    {
        if (version is not null && !ModelIdentifiers.IsValidVersion(version))
        {
            throw new InvalidModelConfigException($"'version' must be {ModelIdentifiers.VersionRule} (was '{ClientText.Quote(version)}').");
        }
    }

    private static string DataDirectory(IOptions<ModelKitOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var root = Path.GetFullPath(options.Value.DataDirectory);
        Directory.CreateDirectory(root);
        return root;
    }

    private static SqliteModelMetadataStore CreateSqliteStore(IOptions<ModelKitOptions> options, ILogger? logger) =>
        new(Path.Combine(DataDirectory(options), "registry.db"), logger);
}
