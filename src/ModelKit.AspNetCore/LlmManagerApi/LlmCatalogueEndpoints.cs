using Microsoft.AspNetCore.Http;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

/// <summary>Seed 004's model catalogue: views over the registry (the <c>local</c> source).</summary>
internal static class LlmCatalogueEndpoints
{
    public static async Task<IResult> SearchAsync(
        HttpContext context, IModelRegistry registry, IDeploymentManager deployments, Downloads.IModelHub hub, string? query, string? source, string? model_type, string? page,
        string? page_size, CancellationToken cancellationToken)
    {
        string? fallback = null;
        if (IsHub(source))
        {
            var (hubNumber, hubSize, hubSkip) = LlmManager.Paging(page, page_size);
            if (hubSkip > 999) throw new InvalidInputException($"A hub search reaches its first 1000 results; page {hubNumber} of {hubSize} is past them.");
            try
            {
                var found = await hub.SearchAsync(new Downloads.HubSearchQuery { Search = query, Filter = model_type, Offset = hubSkip, Limit = hubSize }, cancellationToken);
                int? total = found.HasMore ? null : hubSkip + found.Items.Count;
                int? hubPages = total is { } t ? (t + hubSize - 1) / hubSize : null;
                var items = new List<LlmHubModel>();
                foreach (var item in found.Items) items.Add(HubModelOf(item, await registry.FindModelAsync(item.Id, cancellationToken) is not null));
                return LlmManager.Ok(new LlmPage<LlmHubModel>(items, new LlmPagination(hubNumber, hubSize, total, hubPages, found.HasMore, hubNumber > 1)));
            }
            catch (SourceUnavailableException ex)
            {
                // The local catalogue stands in, and the message says so.
                fallback = $"The model hub could not be searched ({ex.Message}); these are the models of the local registry.";
            }
        }
        else if (LlmManager.SourceError(context, source, "source", "searching") is { } refused)
        {
            return refused;
        }

        var (number, size, skip) = LlmManager.Paging(page, page_size);
        var result = await registry.ListModelsAsync(new ModelQuery { Text = query, Task = model_type, Offset = skip, Limit = size }, cancellationToken);
        var pages = (result.Total + size - 1) / size;
        return LlmManager.Ok(new LlmPage<LlmModel>(
            [.. result.Items.Select(m => ModelOf(m, deployments.FindByModel(m.Id), details: false))],
            new LlmPagination(number, size, result.Total, pages, number < pages, number > 1)), fallback ?? "success");
    }

    public static Task<IResult> InfoAsync(
        HttpContext context, string model_id, string? source, IModelRegistry registry, IDeploymentManager deployments, Downloads.IModelHub hub, CancellationToken cancellationToken) =>
        ModelInfoAsync(context, ModelIdRoute.FromSegment(model_id), source, registry, deployments, hub, cancellationToken);

    public static Task<IResult> OrgInfoAsync(
        HttpContext context, string org, string name, string? source, IModelRegistry registry, IDeploymentManager deployments, Downloads.IModelHub hub, CancellationToken cancellationToken) =>
        ModelInfoAsync(context, ModelIdRoute.FromSegments(org, name), source, registry, deployments, hub, cancellationToken);

    private static async Task<IResult> ModelInfoAsync(
        HttpContext context, string modelId, string? source, IModelRegistry registry, IDeploymentManager deployments, Downloads.IModelHub hub, CancellationToken cancellationToken)
    {
        if (IsHub(source))
        {
            var local = await registry.FindModelAsync(modelId, cancellationToken);
            try
            {
                return LlmManager.Ok(HubModelOf(await hub.GetModelAsync(modelId, null, cancellationToken), local is not null));
            }
            catch (ModelKitException ex) when (local is not null && ex is SourceUnavailableException or ModelNotFoundException)
            {
                // The registry's copy stands in, and the message says so.
                return LlmManager.Ok(ModelOf(local, deployments.FindByModel(local.Id), details: true), $"The model hub could not answer ({ex.Message}); this is the local registry's copy.");
            }
        }

        if (LlmManager.SourceError(context, source, "source", "model information") is { } refused) return refused;
        var model = await registry.GetModelAsync(modelId, cancellationToken);
        return LlmManager.Ok(ModelOf(model, deployments.FindByModel(model.Id), details: true));
    }

    private static bool IsHub(string? source) => source is not null && source.Equals("huggingface", StringComparison.OrdinalIgnoreCase);

    private static LlmHubModel HubModelOf(Downloads.HubModelInfo model, bool registered)
    {
        var size = model.Files.Count == 0 || model.Files.Any(f => f.Size is null) ? (long?)null : model.Files.Sum(f => f.Size!.Value);
        return new LlmHubModel
        {
            Id = model.Id,
            Name = model.Id[(model.Id.IndexOf('/', StringComparison.Ordinal) + 1)..],
            ModelType = model.PipelineTag,
            Parameters = model.Parameters is { } count ? Count(count) : null,
            Downloads = model.Downloads,
            Likes = model.Likes,
            Tags = model.Tags,
            Author = model.Author,
            LibraryName = model.LibraryName,
            Gated = model.Gated,
            Sha = model.Sha,
            SizeBytes = size,
            SizeGb = size is { } bytes ? LlmSystemEndpoints.Gb(bytes) : null,
            CreatedAt = model.CreatedAt,
            UpdatedAt = model.LastModified,
            Files = model.Files.Count == 0 ? null : [.. model.Files.Select(f => new LlmHubFile(f.Path, f.Size, f.Sha256))],
            Registered = registered,
        };
    }

    // A parameter count as the seed writes it: 117M, 1.5B.
    private static string Count(long count) => count switch
    {
        >= 1_000_000_000 => (count / 1e9).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "B",
        >= 1_000_000 => (count / 1e6).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "M",
        >= 1_000 => (count / 1e3).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "K",
        _ => count.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    public static async Task<IResult> CategoriesAsync(HttpContext context, IModelRegistry registry, string? source, CancellationToken cancellationToken)
    {
        if (LlmManager.SourceError(context, source, "source", "the hub's categories") is { } refused) return refused;
        var stats = await registry.GetStatisticsAsync(cancellationToken);
        return LlmManager.Ok(new LlmCategories(
            [.. stats.ByTask.Select(p => new LlmCount(p.Key, p.Value))],
            [.. stats.ByFramework.Select(p => new LlmCount(p.Key, p.Value))]));
    }

    // "Trending" here means most used since the models were loaded: the cache counts every batch a model ran.
    public static IResult Trending(HttpContext context, IModelCache cache, string? limit, string? source)
    {
        if (LlmManager.SourceError(context, source, "source", "the hub's trending models") is { } refused) return refused;
        var count = Parse.Int(limit, "limit") ?? 10;
        if (count is < 1 or > 50) throw new InvalidInputException($"'limit' must be 1..50 (was {count}).");
        var top = cache.GetStats().UsageByModel().Take(count).Select(u => new LlmUsageItem(u.ModelId, u.Runs, u.LastUsed));
        return LlmManager.Ok(new LlmTrending([.. top], "backend runs of the models in the cache, counted since each was loaded"));
    }

    public static async Task<IResult> StatsAsync(IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var stats = await registry.GetStatisticsAsync(cancellationToken);
        return LlmManager.Ok(new LlmModelStats
        {
            TotalModels = stats.Models,
            TotalVersions = stats.Versions,
            TotalSizeBytes = stats.TotalBytes,
            TotalSizeGb = LlmSystemEndpoints.Gb(stats.TotalBytes),
            Favorites = stats.Favorites,
            ByStatus = stats.ByStatus.ToDictionary(p => ModelKitJson.Name(p.Key), p => p.Value),
            ByFramework = stats.ByFramework,
            ByModelType = stats.ByTask,
            Deployed = deployments.ListDeployments(DeploymentState.Running).Count,
        });
    }

    public static Task<IResult> FavoriteAsync(string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        SetFavoriteAsync(ModelIdRoute.FromSegment(model_id), true, registry, deployments, cancellationToken);

    public static Task<IResult> UnfavoriteAsync(string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        SetFavoriteAsync(ModelIdRoute.FromSegment(model_id), false, registry, deployments, cancellationToken);

    public static Task<IResult> OrgFavoriteAsync(string org, string name, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        SetFavoriteAsync(ModelIdRoute.FromSegments(org, name), true, registry, deployments, cancellationToken);

    public static Task<IResult> OrgUnfavoriteAsync(string org, string name, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        SetFavoriteAsync(ModelIdRoute.FromSegments(org, name), false, registry, deployments, cancellationToken);

    private static async Task<IResult> SetFavoriteAsync(string modelId, bool favorite, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var model = await registry.UpdateModelAsync(modelId, new ModelUpdate { Favorite = favorite }, cancellationToken);
        return LlmManager.Ok(ModelOf(model, deployments.FindByModel(model.Id), details: false), favorite ? "Model added to favorites" : "Model removed from favorites");
    }

    public static async Task<IResult> SyncAsync(HttpContext context, Downloads.IModelSync sync, CancellationToken cancellationToken)
    {
        // The seed's request has no body (every model downloaded from a hub); {"model_ids": [...]} narrows it.
        IReadOnlyList<string>? ids = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            ids = (await ModelKitJson.ReadAsync<LlmSyncBody>(context.Request, cancellationToken)).ModelIds;
        }

        var results = await sync.SyncAsync(ids, cancellationToken);
        var items = results.Select(r => new LlmSyncItem(
            r.ModelId, ModelKitJson.Name(r.Status), r.Repository, r.DownloadedRevision, r.HubRevision, r.UpdateAvailable, r.Downloads, r.Likes, r.SizeBytes, r.ErrorCode, r.Message)).ToList();
        var synced = items.Count(i => i.Status == "synced");
        var failed = items.Count(i => i.Status == "failed");
        return LlmManager.Ok(new LlmSyncResult(synced, failed, items.Count - synced - failed, items), $"Synced {synced} of {items.Count} models");
    }

    public static async Task<IResult> StorageAsync(IModelRegistry registry, Diagnostics.SystemMonitor monitor, Downloads.IDownloadManager downloads, CancellationToken cancellationToken)
    {
        var stats = await registry.GetStatisticsAsync(cancellationToken);
        var storage = await downloads.GetStorageAsync(cancellationToken);
        var r = monitor.Read();
        var disk = LlmSystemEndpoints.Usage(r.DiskTotalBytes, r.DiskFreeBytes, memory: false);
        return LlmManager.Ok(new LlmStorage(
            disk.TotalGb, disk.UsedGb, disk.FreeGb ?? 0, disk.UsagePercent, stats.TotalBytes, LlmSystemEndpoints.Gb(stats.TotalBytes), stats.Models, stats.Versions,
            storage.DownloadsBytes, LlmSystemEndpoints.Gb(storage.DownloadsBytes), storage.ReservedFreeBytes));
    }

    public static LlmModel ModelOf(ModelInfo model, DeploymentInfo? deployment, bool details)
    {
        var version = model.FindVersion(null);
        var size = model.Versions.Sum(v => v.SizeBytes);
        return new LlmModel
        {
            Id = model.Id,
            Name = model.Name,
            Description = model.Description,
            ModelType = model.Task,
            Source = "local",
            Tags = model.Tags,
            Downloads = HubFigure(model, "hub_downloads"),
            Likes = HubFigure(model, "hub_likes"),
            SizeGb = LlmSystemEndpoints.Gb(size),
            SizeBytes = size,
            CreatedAt = model.CreatedAt,
            UpdatedAt = model.UpdatedAt,
            Framework = model.Framework,
            Status = ModelKitJson.Name(model.Status),
            Favorite = model.Favorite,
            DefaultVersion = model.DefaultVersion,
            DeploymentId = deployment?.DeploymentId,
            DeploymentStatus = deployment is null ? null : LlmVocabulary.DeploymentStatus(deployment.State),
            Versions = details ? [.. model.Versions.Select(v => new LlmVersion(v.Version, ModelKitJson.Name(v.Status), v.SizeBytes, v.Sha256, v.CreatedAt))] : null,
            Inputs = details ? Tensors(version?.Signature?.Inputs) : null,
            Outputs = details ? Tensors(version?.Signature?.Outputs) : null,
        };
    }

    // The hub's figures a sync recorded (POST /api/models/sync); null for models that never came from a hub.
    private static long? HubFigure(ModelInfo model, string key) =>
        model.Metadata.TryGetValue(key, out var text) && long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null;

    public static IReadOnlyList<LlmTensor>? Tensors(IReadOnlyList<TensorSpec>? specs) =>
        specs is null ? null : [.. specs.Select(s => new LlmTensor(s.Name, s.ElementType.GetDataTypeName(), s.Shape))];
}
