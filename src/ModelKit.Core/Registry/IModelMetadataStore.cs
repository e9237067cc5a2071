namespace ModelKit.Registry;

/// <summary>
/// Where the registry keeps its metadata: models, their versions and the records of their files (relative name,
/// size, sha256), never the files themselves, which live in the content-addressed artifact store under
/// <see cref="ModelKitOptions.DataDirectory"/>. The embedded default is SQLite (<c>registry.db</c>); a server
/// database (PostgreSQL …) implements the same members so that several processes share one registry.
/// </summary>
/// <remarks>
/// <para>
/// Members that decide a race are conditional and say so: a version is reserved only while its label is free (or
/// failed), and an upload completes, fails or is released only while its reservation, identified by its upload
/// token, still stands. They report what happened instead of throwing, so that the registry words the errors.
/// </para>
/// <para>
/// <see cref="CompleteVersionAsync"/> and <see cref="DeleteAsync"/> run a callback inside their transaction, after
/// their writes and before the commit. An implementation must serialise these two transactions whenever they touch
/// the same content (SQLite does by taking its write lock; a server database can lock the content's sha256, for
/// example with a transaction-scoped advisory lock), so that content is never released while another transaction
/// starts to reference it.
/// </para>
/// <para>
/// The <see cref="ModelArtifactFile.Path"/> of the files a store returns is left empty: where a file can be read is
/// the artifact store's business, and the registry fills it in.
/// </para>
/// </remarks>
public interface IModelMetadataStore
{
    /// <summary>
    /// Creates the schema, or migrates an older one, before any other member is called. Safe when several processes
    /// start at once; throws when the schema was written by a newer version than the store reads.
    /// </summary>
    Task InitializeAsync(CancellationToken cancellationToken = default);

    /// <summary>Inserts a model without versions (its <see cref="ModelInfo.Versions"/> are ignored); false when the id is taken.</summary>
    Task<bool> TryCreateModelAsync(ModelInfo model, CancellationToken cancellationToken = default);

    /// <summary>The model with its versions (oldest first) and their files (primary first), or null.</summary>
    Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default);

    /// <summary>A filtered page of models, ordered by creation time then id; the query has been validated.</summary>
    Task<ModelPage> ListModelsAsync(ModelQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies the update's non-null fields and sets the model's updated time to <paramref name="now"/>. Conditional:
    /// nothing is applied when <see cref="ModelUpdate.DefaultVersion"/> names a version that is not ready at that moment.
    /// </summary>
    Task<ModelUpdateResult> UpdateModelAsync(string modelId, ModelUpdate update, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reserves a version for an upload: inserts it as <see cref="ModelVersionStatus.Uploading"/> with
    /// <paramref name="uploadToken"/>, labelled <paramref name="version"/> or, when null, with the next number.
    /// A failed version of that label is replaced (a retry). Conditional: null when the label is taken by a version
    /// that is uploading or ready, or when the model does not exist.
    /// </summary>
    /// <returns>The version's label, or null.</returns>
    Task<string?> TryReserveVersionAsync(string modelId, string? version, string uploadToken, DateTimeOffset now, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks a reserved version ready with its files and signature, makes it the model's default when the model has
    /// none, and calls <paramref name="storeContent"/> before committing (see the remarks on the interface); when the
    /// callback throws, nothing is committed. Conditional: false, without calling the callback, when the reservation
    /// (<see cref="ModelVersionCommit.UploadToken"/>) no longer stands: the version was deleted or failed meanwhile.
    /// </summary>
    Task<bool> CompleteVersionAsync(ModelVersionCommit commit, Func<CancellationToken, Task> storeContent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks an uploading version failed with <paramref name="reason"/>; it keeps no files and can be uploaded again or
    /// deleted. Conditional: false when it is no longer uploading under <paramref name="uploadToken"/> (null matches a
    /// version that records no token, as versions from before tokens were recorded do).
    /// </summary>
    Task<bool> FailVersionAsync(string modelId, string version, string? uploadToken, string reason, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a reserved version whose upload gave up (rejected or cancelled). Conditional: false when it is no
    /// longer uploading under <paramref name="uploadToken"/>.
    /// </summary>
    Task<bool> ReleaseVersionAsync(string modelId, string version, string uploadToken, CancellationToken cancellationToken = default);

    /// <summary>Every version that is uploading now, in any process sharing the store.</summary>
    Task<IReadOnlyList<PendingUpload>> ListUploadsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes one version, or the model with all its versions when <paramref name="version"/> is null. Deleting the
    /// default version makes the newest remaining ready version the default (none when there is no ready one left).
    /// Before committing, calls <paramref name="releaseContent"/> with the deleted versions and the sha256 of the
    /// content no version references any more (see the remarks on the interface); when the callback throws, nothing is
    /// committed. False when there was nothing to delete.
    /// </summary>
    Task<bool> DeleteAsync(string modelId, string? version, Func<ReleasedContent, CancellationToken, Task> releaseContent, CancellationToken cancellationToken = default);
}
