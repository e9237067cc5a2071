using System.Globalization;
using ModelKit.Registry;

namespace ModelKit.Downloads;

/// <summary>
/// <see cref="IModelSync"/> over the registry and the hub: a model downloaded from a hub carries <c>source</c>
/// (<c>huggingface</c>), <c>source_repository</c> and <c>source_revision</c> in its metadata; syncing adds <c>hub_revision</c>,
/// <c>hub_downloads</c>, <c>hub_likes</c>, <c>hub_size_bytes</c>, <c>hub_last_modified</c> and <c>hub_synced_at</c>, and the
/// hub's tags to the model's own.
/// </summary>
internal sealed class HubModelSync(IModelRegistry registry, IModelHub hub, TimeProvider? timeProvider = null) : IModelSync
{
    private const int MaxTags = 64;
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public async Task<IReadOnlyList<ModelSyncResult>> SyncAsync(IReadOnlyList<string>? modelIds = null, CancellationToken cancellationToken = default)
    {
        var models = new List<ModelInfo>();
        if (modelIds is { Count: > 0 })
        {
            if (modelIds.Count > 1000) throw new InvalidInputException($"At most 1000 models are synced at once (got {modelIds.Count}).");
            foreach (var id in modelIds.Distinct(StringComparer.Ordinal))
            {
                if (string.IsNullOrWhiteSpace(id)) throw new InvalidInputException("'model_ids' holds an empty id.");
                models.Add(await registry.GetModelAsync(id, cancellationToken).ConfigureAwait(false));
            }
        }
        else
        {
            for (var offset = 0; ; offset += 500)
            {
                var page = await registry.ListModelsAsync(new ModelQuery { Offset = offset, Limit = 500 }, cancellationToken).ConfigureAwait(false);
                models.AddRange(page.Items.Where(m => Source(m) == HuggingFaceSource.SourceName));
                if (page.Items.Count < 500) break;
            }
        }

        var results = new List<ModelSyncResult>(models.Count);
        foreach (var model in models) results.Add(await SyncOneAsync(model, cancellationToken).ConfigureAwait(false));
        return results;
    }

    private async Task<ModelSyncResult> SyncOneAsync(ModelInfo model, CancellationToken cancellationToken)
    {
        if (Source(model) != HuggingFaceSource.SourceName || !model.Metadata.TryGetValue("source_repository", out var repository))
        {
            return new ModelSyncResult { ModelId = model.Id, Status = ModelSyncStatus.Skipped, Message = "The model was not downloaded from a hub; the registry is its only record." };
        }

        model.Metadata.TryGetValue("source_revision", out var downloaded);
        HubModelInfo info;
        try
        {
            info = await hub.GetModelAsync(repository, null, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelKitException ex) when (ex is SourceUnavailableException or ModelNotFoundException or InvalidInputException)
        {
            return new ModelSyncResult { ModelId = model.Id, Status = ModelSyncStatus.Failed, Repository = repository, DownloadedRevision = downloaded, ErrorCode = ex.ErrorCode, Message = ex.Message };
        }
        catch (HttpRequestException ex)
        {
            return new ModelSyncResult
            {
                ModelId = model.Id, Status = ModelSyncStatus.Failed, Repository = repository, DownloadedRevision = downloaded,
                ErrorCode = ModelKitErrorCodes.SourceUnavailable, Message = ex.Message,
            };
        }

        var size = info.Files.Count > 0 && info.Files.All(f => f.Size is not null) ? info.Files.Sum(f => f.Size!.Value) : (long?)null;
        var metadata = new Dictionary<string, string>(model.Metadata, StringComparer.Ordinal)
        {
            ["hub_synced_at"] = _time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture),
        };
        Set(metadata, "hub_revision", info.Sha);
        Set(metadata, "hub_downloads", info.Downloads?.ToString(CultureInfo.InvariantCulture));
        Set(metadata, "hub_likes", info.Likes?.ToString(CultureInfo.InvariantCulture));
        Set(metadata, "hub_size_bytes", size?.ToString(CultureInfo.InvariantCulture));
        Set(metadata, "hub_last_modified", info.LastModified?.ToString("O", CultureInfo.InvariantCulture));
        var tags = model.Tags.Concat(info.Tags.Where(t => t.Length is > 0 and <= 64)).Distinct(StringComparer.Ordinal).Take(MaxTags).ToList();
        await registry.UpdateModelAsync(model.Id, new ModelUpdate { Metadata = metadata, Tags = tags }, cancellationToken).ConfigureAwait(false);
        return new ModelSyncResult
        {
            ModelId = model.Id,
            Status = ModelSyncStatus.Synced,
            Repository = repository,
            DownloadedRevision = downloaded,
            HubRevision = info.Sha,
            UpdateAvailable = info.Sha is not null && downloaded is not null && !string.Equals(info.Sha, downloaded, StringComparison.OrdinalIgnoreCase),
            Downloads = info.Downloads,
            Likes = info.Likes,
            SizeBytes = size,
        };
    }

    private static string? Source(ModelInfo model) => model.Metadata.TryGetValue("source", out var source) ? source : null;

    private static void Set(Dictionary<string, string> metadata, string key, string? value)
    {
        if (value is null) metadata.Remove(key);
        else metadata[key] = value;
    }
}
