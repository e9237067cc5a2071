using System.Globalization;
using Microsoft.AspNetCore.Http;
using ModelKit;
using ModelKit.AspNetCore;
using ModelKit.Caching;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace Microsoft.AspNetCore.Builder;

// Seed 003's service endpoints: async jobs, supported tasks, statistics, cache management, preload.
public static partial class ModelKitEndpointRouteBuilderExtensions
{
    internal static async Task<IResult> SubmitJobAsync(HttpContext context, IInferenceService inference, IInferenceJobService jobs)
    {
        var body = await ModelKitJson.ReadAsync<InferenceBody>(context.Request, context.RequestAborted);
        var modelId = body.ModelId ?? body.ModelName ?? throw new InvalidInputException("'model_id' is required.");
        var job = await jobs.SubmitAsync((await ToRequestAsync(modelId, body, inference, context.RequestAborted)).Request, context.RequestAborted);
        var json = JobJson(job, context.TraceIdentifier) with { StatusUrl = $"{context.Request.PathBase}{Prefix(context.Request)}/inference/async/{job.JobId}" };
        return ModelKitJson.Json(json, StatusCodes.Status202Accepted);
    }

    internal static IResult GetJob(string job_id, HttpContext context, IInferenceJobService jobs) =>
        ModelKitJson.Json(JobJson(jobs.GetJob(job_id), context.TraceIdentifier));

    internal static IResult CancelJob(string job_id, HttpContext context, IInferenceJobService jobs) =>
        ModelKitJson.Json(JobJson(jobs.Cancel(job_id), context.TraceIdentifier));

    internal static async Task<IResult> SupportedTasksAsync(IModelRegistry registry, CancellationToken cancellationToken)
    {
        var statistics = await registry.GetStatisticsAsync(cancellationToken);
        return ModelKitJson.Json(new
        {
            tasks = statistics.ModelsByTask.Select(t => new { task = t.Key, models = t.Value }),
            frameworks = statistics.ByFramework.Keys,
        });
    }

    internal static IResult Stats(IModelRouter router, IModelCache cache, IInferenceJobService jobs)
    {
        var queues = router.GetQueueStats();
        var total = BatchQueueStats.Sum(queues.Values);
        var cacheStats = cache.GetStats();
        var recent = jobs.ListJobs(limit: 10_000);
        return ModelKitJson.Json(new
        {
            queues,
            totals = new
            {
                requests = total.Enqueued,
                succeeded = total.Succeeded,
                failed = total.Failed,
                timed_out = total.TimedOut,
                cancelled = total.Cancelled,
                rejected = total.Rejected,
                batches = total.Batches,
                terminated = total.Terminated,
                average_batch_size = total.AverageBatchSize,
            },
            cache = new { models = cacheStats.Count, memory_bytes = cacheStats.MemoryBytes, memory_limit_bytes = cacheStats.MemoryLimitBytes, hit_rate = cacheStats.HitRate },
            jobs = recent.GroupBy(j => j.Status).ToDictionary(g => ModelKitJson.Name(g.Key), g => g.Count()),
        });
    }

    internal static IResult ClearCache(IModelCache cache)
    {
        var removed = cache.Clear();
        return ModelKitJson.Json(new { message = $"Removed {removed} unpinned model(s) from the cache; pinned (deployed) models stay.", removed });
    }

    internal static IResult CacheStats(IModelCache cache) => ModelKitJson.Json(CacheJson(cache.GetStats()));

    internal static IResult CacheModels(IModelCache cache) => ModelKitJson.Json(new { models = cache.GetStats().Entries.Select(EntryJson) });

    internal static IResult RemoveCachedModel(string key, IModelCache cache)
    {
        var parsed = ModelCacheKey.Parse(key);
        return cache.Remove(parsed)
            ? ModelKitJson.Json(new { message = $"Model '{parsed}' was removed from the cache; running requests finish first.", key = parsed.ToString() })
            : throw new ModelNotFoundException($"'{parsed}' is not in the cache; GET the cache's models for the loaded keys.");
    }

    internal static async Task<IResult> ConfigureCacheAsync(HttpRequest request, IModelCache cache, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<CacheConfigBody>(request, cancellationToken);
        if (body.MaxCacheSize is < 1 or > 10_000) throw new InvalidInputException($"'max_cache_size' must be 1..10000 (was {body.MaxCacheSize}).");
        if (body.MaxMemoryGb is { } given && (!double.IsFinite(given) || given * (1L << 30) < 1 << 20 || given > 4096))
        {
            throw new InvalidInputException($"'max_memory_gb' must be a number from 0.001 (1 MiB) to 4096 (was {given.ToString(CultureInfo.InvariantCulture)}).");
        }

        if (body.MemoryLimitBytes is <= 0) throw new InvalidInputException($"'memory_limit_bytes' must be positive (was {body.MemoryLimitBytes}).");
        var bytes = body.MemoryLimitBytes ?? (body.MaxMemoryGb is { } gb ? (long)(gb * (1L << 30)) : null);
        if (bytes is null && body.MaxCacheSize is null) throw new InvalidInputException("Give 'max_cache_size', 'max_memory_gb' or 'memory_limit_bytes'.");
        var before = cache.GetStats();
        cache.Resize(bytes, body.MaxCacheSize);
        var after = cache.GetStats();
        var json = CacheJson(after);
        json["evicted"] = Math.Max(0, before.Count - after.Count);
        return ModelKitJson.Json(json);
    }

    internal static async Task<IResult> PreloadAsync(HttpRequest request, IInferenceService inference, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<PreloadBody>(request, cancellationToken);
        var models = body.Models ?? [body.ModelId ?? body.ModelName ?? throw new InvalidInputException("'model_id' (or 'models') is required.")];
        var keys = new List<string>();
        foreach (var model in models) keys.Add((await inference.PreloadAsync(model, body.Models is null ? body.Version : null, cancellationToken)).ToString());
        return ModelKitJson.Json(new { message = $"Loaded {keys.Count} model(s).", keys });
    }

    // A typed response: a job's outputs are serialised straight from their arrays, not through one JSON node per element.
    internal static JobResponse JobJson(InferenceJobInfo job, string requestId) => new()
    {
        JobId = job.JobId,
        Status = ModelKitJson.Name(job.Status),
        ModelId = job.ModelId,
        Version = job.Version,
        CreatedAt = job.CreatedAt,
        StartedAt = job.StartedAt,
        CompletedAt = job.CompletedAt,
        ExpiresAt = job.ExpiresAt,
        Result = job.Result is { } result ? ToResponse(result, job.JobId) : null,
        Error = job.ErrorCode is null ? null : new ErrorBody(job.ErrorCode, job.ErrorMessage ?? string.Empty),
        RequestId = requestId,
    };

    internal static System.Text.Json.Nodes.JsonObject CacheJson(ModelCacheStats stats) => new()
    {
        ["hits"] = stats.Hits,
        ["misses"] = stats.Misses,
        ["hit_rate"] = stats.HitRate,
        ["loads"] = stats.Loads,
        ["load_failures"] = stats.LoadFailures,
        ["evictions"] = stats.Evictions,
        ["models"] = stats.Count,
        ["max_models"] = stats.MaxModels,
        ["memory_bytes"] = stats.MemoryBytes,
        ["memory_limit_bytes"] = stats.MemoryLimitBytes,
        ["entries"] = new System.Text.Json.Nodes.JsonArray([.. stats.Entries.Select(e => (System.Text.Json.Nodes.JsonNode)EntryJson(e))]),
    };

    internal static System.Text.Json.Nodes.JsonObject EntryJson(ModelCacheEntryInfo e) => new()
    {
        ["key"] = e.Key.ToString(),
        ["model_id"] = e.Key.ModelId,
        ["version"] = e.Key.Version,
        ["device"] = e.Key.Device.ToString(),
        ["memory_bytes"] = e.MemoryBytes,
        ["memory_measurement"] = ModelKitJson.Name(e.MemoryMeasurement),
        ["load_time_ms"] = e.LoadTime.TotalMilliseconds,
        ["loaded_at"] = e.LoadedAt,
        ["last_access"] = e.LastAccess,
        ["access_count"] = e.AccessCount,
        ["pinned"] = e.Pinned,
        ["active_leases"] = e.ActiveLeases,
    };
}
