using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelKit.AspNetCore;
using ModelKit.AspNetCore.InferenceApi;
using static ModelKit.AspNetCore.InferenceApi.InferenceApiHandlers;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 003, the unified inference API at <c>/inference/…</c>: infer, batch, async jobs, cache management, health and stats.</summary>
public static class InferenceApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "003";

    /// <summary>Maps seed 003 under <paramref name="prefix"/> (default: the seed's own <c>/inference/…</c>, <c>/infer_fixed</c> and <c>/infer_multimodal</c>).</summary>
    public static RouteGroupBuilder MapInferenceApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, prefix).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapInferenceApi()", "Seed 003 · inference API", prefix, InferenceApiErrors.Writer, typeof(InferenceErrorResponse),
            "/inference", "/infer_fixed", "/infer_multimodal");
        var group = surface.Group;
        InferenceApiErrors.AddEngineErrors(group);
        var latency = Latency(endpoints.ServiceProvider);
        const string Json = "application/json";

        // Present in the seed: the unified call, health, tasks, statistics, clearing, the legacy calls, examples.
        surface.Secure(group.MapPost("/inference/infer", InferAsync), ModelKitScopes.Infer).WithName("Seed003_Infer")
            .WithSummary("Run one inference request (task, engine, model_name, data, options)").Accepts<InferRequestBody>(Json).Produces<InferResponse>();
        group.MapGet("/inference/health", HealthAsync).AllowAnonymous().WithName("Seed003_Health")
            .WithSummary("Health of the inference components (503 when unhealthy)").Produces<HealthResponse>().Produces<HealthResponse>(StatusCodes.Status503ServiceUnavailable);
        surface.Secure(group.MapGet("/inference/supported-tasks", SupportedTasksAsync), ModelKitScopes.Read).WithName("Seed003_SupportedTasks")
            .WithSummary("Tasks, the models registered for them and the engines that run them").Produces<SupportedTasksResponse>();
        surface.Secure(group.MapGet("/inference/stats", (HttpContext context, ModelKit.Serving.IModelRouter router, ModelKit.Caching.IModelCache cache, ModelKit.Inference.IInferenceJobService jobs) =>
            Stats(context, router, cache, jobs, latency)), ModelKitScopes.Read).WithName("Seed003_Stats")
            .WithSummary("Request totals, queues, cache, jobs and latency").Produces<StatsResponse>();
        surface.Secure(group.MapPost("/inference/clear-cache", ClearCache), ModelKitScopes.Manage).WithName("Seed003_ClearCache")
            .WithSummary("Remove unpinned models from the cache").Produces<ClearCacheResponse>();
        surface.Secure(group.MapPost("/infer_fixed", InferAsync), ModelKitScopes.Infer).WithName("Seed003_InferFixed")
            .WithSummary("Legacy: /inference/infer with the engine fixed to onnxruntime").Accepts<InferRequestBody>(Json).Produces<InferResponse>();
        surface.Secure(group.MapPost("/infer_multimodal", InferMultimodalAsync), ModelKitScopes.Infer).WithName("Seed003_InferMultimodal")
            .WithSummary("Legacy: one request with several named inputs ('inputs')").Accepts<InferRequestBody>(Json).Produces<InferResponse>();
        surface.Secure(group.MapGet("/inference/examples", ExamplesAsync), ModelKitScopes.Read).WithName("Seed003_Examples")
            .WithSummary("Example requests for the models this server serves, built from their signatures").Produces<ExamplesResponse>();

        // High priority in the seed: cache management and batches.
        surface.Secure(group.MapGet("/inference/cache/stats", CacheStats), ModelKitScopes.Read).WithName("Seed003_CacheStats")
            .WithSummary("Cache statistics: hit rate, memory, per-model access, evictions").Produces<CacheStatsResponse>();
        surface.Secure(group.MapGet("/inference/cache/models", CacheModels), ModelKitScopes.Read).WithName("Seed003_CacheModels")
            .WithSummary("Cached models").Produces<CachedModelsResponse>();
        surface.Secure(group.MapDelete("/inference/cache/models/{key}", RemoveCachedModel), ModelKitScopes.Manage).WithName("Seed003_RemoveCachedModel")
            .WithSummary("Remove a model from the cache (key engine:model_name; 200 with success false when not cached)").Produces<CacheRemoveResponse>();
        surface.Secure(group.MapPut("/inference/cache/config", ConfigureCacheAsync), ModelKitScopes.Manage).WithName("Seed003_CacheConfig")
            .WithSummary("Change the cache's limits (query string or JSON body)").Accepts<CacheConfigBody>(isOptional: true, Json).Produces<CacheConfigResponse>();
        surface.Secure(group.MapPost("/inference/batch", BatchAsync), ModelKitScopes.Infer).WithName("Seed003_Batch")
            .WithSummary("Run 1..100 requests, each succeeding or failing alone").Accepts<BatchRequestBody>(Json).Produces<BatchResponse>();

        // Medium: asynchronous jobs and preloading.
        surface.Secure(group.MapPost("/inference/async", SubmitJobAsync), ModelKitScopes.Infer).WithName("Seed003_SubmitJob")
            .WithSummary("Submit an asynchronous inference job").Accepts<InferRequestBody>(Json).Produces<InferenceJobResponse>(StatusCodes.Status202Accepted);
        surface.Secure(group.MapGet("/inference/async/{id}", GetJob), ModelKitScopes.ReadOrInfer).WithName("Seed003_GetJob")
            .WithSummary("A job's status and result").Produces<InferenceJobResponse>();
        surface.Secure(group.MapDelete("/inference/async/{id}", CancelJob), ModelKitScopes.Infer).WithName("Seed003_CancelJob")
            .WithSummary("Cancel a job (a finished job stays as it is)").Produces<InferenceJobResponse>();
        surface.Secure(group.MapPost("/inference/models/preload", PreloadAsync), ModelKitScopes.Manage).WithName("Seed003_Preload")
            .WithSummary("Load models into the cache now").Accepts<PreloadBody>(Json).Produces<PreloadResponse>();

        // Low: streaming text generation over a WebSocket (InferenceStreamSocket) and the monitoring dashboard (issue 16).
        surface.Secure(group.MapGet("/inference/stream", InferenceStreamSocket.RunAsync), ModelKitScopes.Infer)
            .WithName("Seed003_Stream").ExcludeFromDescription(); // a WebSocket, which OpenAPI cannot describe (docs/rest-api.md has its messages)
        surface.Secure(group.MapGet("/inference/dashboard", IResult () => throw new NotBuiltException(
            "The monitoring dashboard (GET /inference/dashboard) is not built yet: it arrives with issue 16. GET /inference/stats has the numbers.")), ModelKitScopes.Read)
            .WithName("Seed003_Dashboard").WithSummary("Monitoring dashboard (501 until issue 16)").Produces<InferenceErrorResponse>(StatusCodes.Status501NotImplemented);
        return surface;
    }

    // One latency recorder per mapping, counting from now, released when the host stops.
    private static InferenceLatency Latency(IServiceProvider services)
    {
        var latency = new InferenceLatency(services.GetService<System.Diagnostics.Metrics.IMeterFactory>(), (services.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow());
        services.GetService<IHostApplicationLifetime>()?.ApplicationStopped.Register(latency.Dispose);
        return latency;
    }
}
