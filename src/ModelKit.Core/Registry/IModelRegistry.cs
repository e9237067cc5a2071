namespace ModelKit.Registry;

/// <summary>Models, their versions and artifact files, persisted under the data directory.</summary>
public interface IModelRegistry
{
    /// <summary>Creates a model without versions. MODEL_ALREADY_EXISTS when the id is taken.</summary>
    Task<ModelInfo> CreateModelAsync(ModelDefinition definition, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a version from a stream: the content is streamed to a temporary file and hashed, checked by the
    /// framework's backend, then stored and marked ready. On any failure nothing is kept.
    /// </summary>
    /// <param name="modelId">The model.</param>
    /// <param name="version">The version label; the next number when null.</param>
    /// <param name="content">The artifact's bytes.</param>
    /// <param name="fileName">The artifact's file name (no directories).</param>
    /// <param name="cancellationToken">Cancels the upload; nothing is kept.</param>
    Task<ModelVersionInfo> AddVersionAsync(string modelId, string? version, Stream content, string fileName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds a version of several files: the model and the files that must sit beside it (ONNX external data such as
    /// <c>model.onnx.data</c>, <c>tokenizer.json</c>, <c>vocab.txt</c>, <c>config.json</c> …), under their relative
    /// names. They are streamed and hashed one after another, then the framework's backend loads the primary file with
    /// the others beside it; only then is the version stored and marked ready. On any failure nothing is kept.
    /// </summary>
    /// <param name="modelId">The model.</param>
    /// <param name="version">The version label; the next number when null.</param>
    /// <param name="files">The files; names are relative ('/' between folders), without '..', backslashes or control characters.</param>
    /// <param name="primaryFile">The name of the file the backend loads; the first file when null. It becomes <c>Files[0]</c>.</param>
    /// <param name="cancellationToken">Cancels the upload; nothing is kept.</param>
    Task<ModelVersionInfo> AddVersionAsync(
        string modelId, string? version, IReadOnlyList<ArtifactSource> files, string? primaryFile = null, CancellationToken cancellationToken = default);

    /// <summary>Creates a model and its first version in one step; when the version fails, the model is not kept either.</summary>
    Task<ModelInfo> RegisterAsync(ModelDefinition definition, Stream content, string fileName, string? version = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Creates a model and its first version, of several files (see <see cref="AddVersionAsync(string, string?, IReadOnlyList{ArtifactSource}, string?, CancellationToken)"/>),
    /// in one step; when the version fails, the model is not kept either.
    /// </summary>
    Task<ModelInfo> RegisterAsync(
        ModelDefinition definition, IReadOnlyList<ArtifactSource> files, string? primaryFile = null, string? version = null, CancellationToken cancellationToken = default);

    /// <summary>The model, or MODEL_NOT_FOUND.</summary>
    Task<ModelInfo> GetModelAsync(string modelId, CancellationToken cancellationToken = default);

    /// <summary>The model, or null.</summary>
    Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default);

    /// <summary>A filtered page of models, ordered by creation time then id.</summary>
    Task<ModelPage> ListModelsAsync(ModelQuery query, CancellationToken cancellationToken = default);

    /// <summary>Changes metadata; MODEL_NOT_FOUND when missing.</summary>
    Task<ModelInfo> UpdateModelAsync(string modelId, ModelUpdate update, CancellationToken cancellationToken = default);

    /// <summary>Deletes the model, its versions and unreferenced files. Refused (CONFLICT) while deployed unless <paramref name="force"/>.</summary>
    Task DeleteModelAsync(string modelId, bool force = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes one version (ready, failed or uploading), and its files unless another version has the same content.
    /// When it was the default version, the newest remaining ready version becomes the default. Refused (CONFLICT)
    /// while deployed unless <paramref name="force"/>.
    /// </summary>
    Task DeleteVersionAsync(string modelId, string version, bool force = false, CancellationToken cancellationToken = default);

    /// <summary>
    /// Checks that every artifact file of <paramref name="version"/> is present and readable and, the first time
    /// each content is checked since the process started, that it matches its recorded sha256. Throws
    /// <see cref="ModelUnavailableException"/> naming the model and version (never a file path) when not.
    /// Served models call it before they load.
    /// </summary>
    Task VerifyArtifactsAsync(ModelVersionInfo version, CancellationToken cancellationToken = default);

    /// <summary>
    /// Raised after every committed change (create, update, delete, a version ready, deleted or failed), on the
    /// thread that made it. Whatever serves models listens, so that a deleted or replaced model is never served stale.
    /// Handlers must be quick and must not throw.
    /// </summary>
    event EventHandler<ModelRegistryChange>? Changed;
}
