using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using ModelKit.Caching;
using ModelKit.Inference;

namespace ModelKit.AspNetCore.InferenceApi;

// Seed 003's cache management: statistics, entries, removal by key, limits, clearing, preloading.
internal static partial class InferenceApiHandlers
{
    /// <summary>The seed's ranges for <c>PUT /inference/cache/config</c>.</summary>
    public const int MinCacheSize = 1, MaxCacheSize = 20;

    /// <inheritdoc cref="MinCacheSize"/>
    public const double MinMemoryGb = 1, MaxMemoryGb = 100;

    public static IResult CacheStats(HttpContext context, IModelCache cache) =>
        ModelKitJson.Json(new CacheStatsResponse(true, CacheStatistics.Of(cache.GetStats()), InferenceApiClock.Now(context)));

    public static IResult CacheModels(HttpContext context, IModelCache cache)
    {
        var models = cache.GetStats().Entries.Select(CachedModel.Of).ToList();
        return ModelKitJson.Json(new CachedModelsResponse(true, models, models.Count, InferenceApiClock.Now(context)));
    }

    /// <summary>
    /// <c>DELETE /inference/cache/models/{key}</c>: <c>onnxruntime:&lt;model&gt;</c> removes every loaded version and device of
    /// the model, <c>model:version@device</c> that one entry; running requests finish first. A key that names nothing
    /// loaded (another engine's, an unknown model, no key at all) answers 200 with <c>success</c> false, as the seed does.
    /// </summary>
    public static IResult RemoveCachedModel(string key, HttpContext context, IModelCache cache)
    {
        var shown = ClientText.Quote(key);
        var removed = CacheKeys.Match(key, cache.GetStats()).Where(cache.Remove).Select(k => k.ToString()).ToList();
        var message = removed.Count > 0
            ? $"Model '{shown}' was removed from the cache ({string.Join(", ", removed)}); running requests finish first."
            : $"Model '{shown}' is not in the cache. Keys are 'onnxruntime:<model id>' (every version and device) or 'model:version@device'; GET /inference/cache/models lists them.";
        return ModelKitJson.Json(new CacheRemoveResponse(removed.Count > 0, message, removed, InferenceApiClock.Now(context)));
    }

    /// <summary>
    /// <c>PUT /inference/cache/config</c>: <c>max_cache_size</c> (1..20) and <c>max_memory_gb</c> (1..100) in the query string,
    /// as the seed's example sends them, or in a JSON body (also ModelKit's <c>memory_limit_bytes</c>); the query wins
    /// where both give a value. Lowering a limit evicts least-recently-used unpinned entries at once.
    /// </summary>
    public static async Task<IResult> ConfigureCacheAsync(HttpContext context, IModelCache cache)
    {
        var request = context.Request;
        var body = HasBody(request) ? await ModelKitJson.ReadAsync<CacheConfigBody>(request, context.RequestAborted) : new CacheConfigBody();
        var size = Parse.Int(request.Query["max_cache_size"], "max_cache_size") ?? body.MaxCacheSize;
        var gb = Parse.Double(request.Query["max_memory_gb"], "max_memory_gb") ?? body.MaxMemoryGb;
        if (size is { } count && count is < MinCacheSize or > MaxCacheSize)
        {
            throw new InvalidInputException($"'max_cache_size' must be a whole number from {MinCacheSize} to {MaxCacheSize} (was {count}).");
        }

        if (gb is { } given && !(given >= MinMemoryGb && given <= MaxMemoryGb))
        {
            throw new InvalidInputException($"'max_memory_gb' must be a number from {MinMemoryGb} to {MaxMemoryGb} (was {given.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (gb is null && body.MemoryLimitBytes is { } bytes && bytes is < (long)MinMemoryGb << 30 or > (long)MaxMemoryGb << 30)
        {
            throw new InvalidInputException($"'memory_limit_bytes' must be from {(long)MinMemoryGb << 30} to {(long)MaxMemoryGb << 30} (1 to 100 GiB; was {bytes}).");
        }

        var limit = gb is { } g ? (long)(g * (1L << 30)) : body.MemoryLimitBytes;
        if (size is null && limit is null)
        {
            throw new InvalidInputException("Give at least one of 'max_cache_size' (1..20) and 'max_memory_gb' (1..100), in the query string or a JSON body.");
        }

        var before = cache.GetStats();
        cache.Resize(limit, size);
        var after = cache.GetStats();
        List<string> updates = [];
        if (size is not null) updates.Add($"max_cache_size updated to {size}");
        if (gb is not null) updates.Add($"max_memory_gb updated to {gb.Value.ToString(CultureInfo.InvariantCulture)}");
        else if (limit is not null) updates.Add($"memory_limit_bytes updated to {limit}");
        var evicted = before.Entries.Where(e => after.Find(e.Key) is null).Select(e => e.Key.ToString()).ToList();
        return ModelKitJson.Json(new CacheConfigResponse(
            true,
            evicted.Count == 0 ? "Cache configuration updated." : $"Cache configuration updated; {evicted.Count} model(s) were evicted to fit the new limits.",
            updates,
            new CurrentCacheConfig(after.MaxModels, CacheStatistics.Gb(after.MemoryLimitBytes), after.MemoryLimitBytes),
            evicted,
            InferenceApiClock.Now(context)));
    }

    // The seed's example sends no body; HttpClient sends "Content-Length: 0"; chunked bodies have no length.
    private static bool HasBody(HttpRequest request) =>
        request.ContentLength > 0 || (request.ContentLength is null && request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true);

    public static IResult ClearCache(HttpContext context, IModelCache cache)
    {
        var removed = cache.Clear();
        return ModelKitJson.Json(new ClearCacheResponse(true,
            $"Removed {removed} unpinned model(s) from the cache; pinned (deployed) models stay.", removed, InferenceApiClock.Now(context)));
    }

    /// <summary>
    /// <c>POST /inference/models/preload</c>: <c>model_name</c> (or <c>model_id</c>, with <c>version</c>) or <c>models</c> (ids,
    /// each at its served version); <c>engine</c> as in <c>/inference/infer</c>. Loads each into the cache now.
    /// </summary>
    public static async Task<IResult> PreloadAsync(HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<PreloadBody>(context.Request, context.RequestAborted);
        UnsupportedEngineException.Check(body.Engine);
        var models = body.Models ?? [body.ModelName ?? body.ModelId ?? throw new InvalidInputException("'model_name' (or 'models', a list of model ids) is required.")];
        if (models.Count is 0 or > InferenceBatchResult.MaxItems) throw new InvalidInputException($"'models' must name 1 to {InferenceBatchResult.MaxItems} models (was {models.Count}).");
        var loaded = new List<PreloadedModel>(models.Count);
        foreach (var model in models)
        {
            if (string.IsNullOrWhiteSpace(model)) throw new InvalidInputException("A model id in 'models' is empty.");
            var key = await inference.PreloadAsync(model, body.Models is null ? body.Version : null, context.RequestAborted);
            loaded.Add(new PreloadedModel(CacheKeys.Of(key.ModelId), key.ToString(), key.ModelId, key.Version));
        }

        return ModelKitJson.Json(new PreloadResponse(true, $"Loaded {loaded.Count} model(s) into the cache.", loaded, loaded.Count, InferenceApiClock.Now(context)));
    }
}
