using System.Data.Common;
using Microsoft.Extensions.Logging;

namespace ModelKit.Registry;

/// <summary>
/// The metadata store as the registry uses it: a passing failure of the store's database (a server that is down or
/// restarting, a broken connection, no free connection, SQLite busy past its timeout: <see cref="DbException.IsTransient"/>)
/// becomes <see cref="RegistryUnavailableException"/>, so that every surface answers 503 REGISTRY_UNAVAILABLE with a
/// Retry-After instead of an internal error, and no connection detail reaches the client. The log has the exception.
/// </summary>
internal sealed class StoreFaults(IModelMetadataStore store, ILogger logger) : IModelMetadataStore
{
    /// <summary>The retry hint sent with REGISTRY_UNAVAILABLE.</summary>
    public static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(5);

    public Task InitializeAsync(CancellationToken cancellationToken = default) =>
        Guard(store.InitializeAsync(cancellationToken), "open");

    public Task<bool> TryCreateModelAsync(ModelInfo model, CancellationToken cancellationToken = default) =>
        Guard(store.TryCreateModelAsync(model, cancellationToken), "create a model");

    public Task<ModelInfo?> FindModelAsync(string modelId, CancellationToken cancellationToken = default) =>
        Guard(store.FindModelAsync(modelId, cancellationToken), "read a model");

    public Task<ModelPage> ListModelsAsync(ModelQuery query, CancellationToken cancellationToken = default) =>
        Guard(store.ListModelsAsync(query, cancellationToken), "list models");

    public Task<ModelUpdateResult> UpdateModelAsync(string modelId, ModelUpdate update, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Guard(store.UpdateModelAsync(modelId, update, now, cancellationToken), "update a model");

    public Task<string?> TryReserveVersionAsync(string modelId, string? version, string uploadToken, DateTimeOffset now, CancellationToken cancellationToken = default) =>
        Guard(store.TryReserveVersionAsync(modelId, version, uploadToken, now, cancellationToken), "reserve a version");

    public Task<bool> CompleteVersionAsync(ModelVersionCommit commit, Func<CancellationToken, Task> storeContent, CancellationToken cancellationToken = default) =>
        Guard(store.CompleteVersionAsync(commit, storeContent, cancellationToken), "complete an upload");

    public Task<bool> FailVersionAsync(string modelId, string version, string? uploadToken, string reason, CancellationToken cancellationToken = default) =>
        Guard(store.FailVersionAsync(modelId, version, uploadToken, reason, cancellationToken), "fail an upload");

    public Task<bool> ReleaseVersionAsync(string modelId, string version, string uploadToken, CancellationToken cancellationToken = default) =>
        Guard(store.ReleaseVersionAsync(modelId, version, uploadToken, cancellationToken), "release an upload");

    public Task<IReadOnlyList<PendingUpload>> ListUploadsAsync(CancellationToken cancellationToken = default) =>
        Guard(store.ListUploadsAsync(cancellationToken), "list uploads");

    public Task<bool> DeleteAsync(string modelId, string? version, Func<ReleasedContent, CancellationToken, Task> releaseContent, CancellationToken cancellationToken = default) =>
        Guard(store.DeleteAsync(modelId, version, releaseContent, cancellationToken), "delete");

    private async Task Guard(Task operation, string what)
    {
        try
        {
            await operation.ConfigureAwait(false);
        }
        catch (DbException ex) when (ex.IsTransient)
        {
            throw Unavailable(ex, what);
        }
    }

    private async Task<T> Guard<T>(Task<T> operation, string what)
    {
        try
        {
            return await operation.ConfigureAwait(false);
        }
        catch (DbException ex) when (ex.IsTransient)
        {
            throw Unavailable(ex, what);
        }
    }

    private RegistryUnavailableException Unavailable(DbException exception, string what)
    {
        Log.RegistryUnavailable(logger, what, exception);
        return new RegistryUnavailableException(
            $"The model registry's database cannot be reached now (while trying to {what}); retry in a few seconds.", RetryAfter, exception);
    }
}
