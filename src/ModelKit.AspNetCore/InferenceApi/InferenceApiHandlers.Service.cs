using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelKit.Caching;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace ModelKit.AspNetCore.InferenceApi;

// Seed 003's service endpoints: health, supported tasks, statistics, examples, asynchronous jobs.
internal static partial class InferenceApiHandlers
{
    public static async Task<IResult> HealthAsync(HttpContext context, HealthCheckService health)
    {
        var report = await health.CheckHealthAsync(context.RequestAborted);
        var healthy = report.Status != HealthStatus.Unhealthy;
        return ModelKitJson.Json(new HealthResponse(
            healthy,
            ModelKitJson.Name(report.Status),
            report.Entries.ToDictionary(e => e.Key, e => new ComponentHealth(ModelKitJson.Name(e.Value.Status), e.Value.Description, e.Value.Data)),
            report.TotalDuration.TotalMilliseconds,
            InferenceApiClock.Now(context)), healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    public static async Task<IResult> SupportedTasksAsync(HttpContext context, IModelRegistry registry)
    {
        var statistics = await registry.GetStatisticsAsync(context.RequestAborted);
        string[] engines = [CacheKeys.Engine];
        var tasks = statistics.ModelsByTask.Select(t => new SupportedTask(t.Key, t.Value, engines)).ToList();
        return ModelKitJson.Json(new SupportedTasksResponse(true, tasks, [.. engines], tasks.Count, InferenceApiClock.Now(context)));
    }

    public static IResult Stats(HttpContext context, IModelRouter router, IModelCache cache, IInferenceJobService jobs, InferenceLatency latency)
    {
        var queues = router.GetQueueStats();
        var total = BatchQueueStats.Sum(queues.Values);
        var cacheStats = cache.GetStats();
        var totals = new RequestTotals
        {
            Requests = total.Enqueued,
            Succeeded = total.Succeeded,
            Failed = total.Failed,
            TimedOut = total.TimedOut,
            Cancelled = total.Cancelled,
            Rejected = total.Rejected,
            InQueue = total.QueueLength,
            Running = total.Running,
            Batches = total.Batches,
            Terminated = total.Terminated,
            AverageBatchSize = total.AverageBatchSize,
        };
        var jobCounts = Enum.GetValues<InferenceJobStatus>().ToDictionary(ModelKitJson.Name, _ => 0);
        foreach (var job in jobs.ListJobs(limit: int.MaxValue)) jobCounts[ModelKitJson.Name(job.Status)]++;
        var summary = new CacheSummary(cacheStats.Count, cacheStats.MaxModels, cacheStats.MemoryBytes, cacheStats.MemoryLimitBytes, cacheStats.HitRate, cacheStats.Evictions);
        return ModelKitJson.Json(new StatsResponse(true, new InferenceStats(totals, queues, summary, jobCounts, latency.Snapshot()), InferenceApiClock.Now(context)));
    }

    public static async Task<IResult> ExamplesAsync(HttpContext context, IModelRegistry registry, IInferenceService inference)
    {
        var examples = await InferenceExamples.BuildAsync(context.Request, registry, inference, context.RequestAborted);
        return ModelKitJson.Json(new ExamplesResponse(true, examples, examples.Count, InferenceApiClock.Now(context)));
    }

    /// <summary><c>POST /inference/async</c>: checked as <c>/inference/infer</c> would be (unknown model 404, bad inputs 400), then 202 with the job.</summary>
    public static async Task<IResult> SubmitJobAsync(HttpContext context, IInferenceService inference, IInferenceJobService jobs)
    {
        var body = await ModelKitJson.ReadAsync<InferRequestBody>(context.Request, context.RequestAborted);
        var (_, request) = await InferRequests.ToRequestAsync(body, inference, context.RequestAborted);
        var job = await jobs.SubmitAsync(request, context.RequestAborted);
        return ModelKitJson.Json(JobOf(job, context), StatusCodes.Status202Accepted);
    }

    public static IResult GetJob(string id, HttpContext context, IInferenceJobService jobs) => ModelKitJson.Json(JobOf(jobs.GetJob(id), context));

    public static IResult CancelJob(string id, HttpContext context, IInferenceJobService jobs) => ModelKitJson.Json(JobOf(jobs.Cancel(id), context));

    private static InferenceJobResponse JobOf(InferenceJobInfo job, HttpContext context) => new()
    {
        Success = true,
        JobId = job.JobId,
        Status = ModelKitJson.Name(job.Status),
        ModelName = job.ModelId,
        ModelVersion = job.Result?.Version ?? job.Version,
        CreatedAt = InferenceApiClock.Seconds(job.CreatedAt),
        StartedAt = InferenceApiClock.Seconds(job.StartedAt),
        CompletedAt = InferenceApiClock.Seconds(job.CompletedAt),
        ExpiresAt = InferenceApiClock.Seconds(job.ExpiresAt),
        Result = job.Result is { } result ? ResultOf(result) : null,
        ProcessingTime = job.Result?.Duration.TotalSeconds,
        Error = job.ErrorCode is { } code ? ErrorOf(code, job.ErrorMessage ?? string.Empty) : null,
        StatusUrl = $"{context.Request.PathBase}{SurfaceMap.PrefixOf(context.Request)}/inference/async/{Uri.EscapeDataString(job.JobId)}",
        Timestamp = InferenceApiClock.Now(context),
    };

    private static InferenceErrorDetail ErrorOf(string modelKitCode, string message)
    {
        var code = InferenceApiErrors.SeedCode(modelKitCode);
        var details = new Dictionary<string, object?>();
        if (code != modelKitCode) details["modelkit_code"] = modelKitCode;
        return new InferenceErrorDetail(InferenceApiErrors.TypeOf(code), ModelKitProblems.Bounded(message), code, details);
    }
}
