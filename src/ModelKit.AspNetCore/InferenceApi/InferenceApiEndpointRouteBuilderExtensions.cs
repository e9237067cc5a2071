using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;
using static Microsoft.AspNetCore.Builder.ModelKitEndpointRouteBuilderExtensions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 003, the unified inference API at <c>/inference/…</c>: infer, batch, async jobs, cache management, health and stats.</summary>
public static class InferenceApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "003";

    /// <summary>Maps seed 003 under <paramref name="prefix"/> (default: the seed's own <c>/inference/…</c>).</summary>
    public static RouteGroupBuilder MapInferenceApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, prefix).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapInferenceApi()", "Seed 003 · inference API", prefix, ModelKitProblems.Writer, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails),
            "/inference", "/infer_fixed", "/infer_multimodal");
        var group = surface.Group;
        surface.Secure(group.MapPost("/inference/infer", InferAsync), ModelKitScopes.Infer).WithSummary("Run one inference request naming its model").Accepts<InferenceBody>("application/json").Produces<InferenceResponse>();
        surface.Secure(group.MapPost("/inference/batch", BatchAsync), ModelKitScopes.Infer).WithSummary("Run 1..100 requests, each succeeding or failing alone").Accepts<BatchInferenceBody>("application/json");
        group.MapGet("/inference/health", HealthAsync).AllowAnonymous().WithSummary("Health checks");
        surface.Secure(group.MapPost("/inference/async", SubmitJobAsync), ModelKitScopes.Infer).WithSummary("Submit an asynchronous inference job").Accepts<InferenceBody>("application/json").Produces<JobResponse>(StatusCodes.Status202Accepted);
        surface.Secure(group.MapGet("/inference/async/{job_id}", GetJob), ModelKitScopes.ReadOrInfer).WithSummary("A job's status and result").Produces<JobResponse>();
        surface.Secure(group.MapDelete("/inference/async/{job_id}", CancelJob), ModelKitScopes.Infer).WithSummary("Cancel a job").Produces<JobResponse>();
        surface.Secure(group.MapGet("/inference/supported-tasks", SupportedTasksAsync), ModelKitScopes.Read).WithSummary("Tasks and the models that serve them");
        surface.Secure(group.MapGet("/inference/stats", Stats), ModelKitScopes.Read).WithSummary("Queue, cache and job statistics");
        surface.Secure(group.MapPost("/inference/clear-cache", ClearCache), ModelKitScopes.Manage).WithSummary("Remove unpinned models from the cache");
        surface.Secure(group.MapGet("/inference/cache/stats", CacheStats), ModelKitScopes.Read).WithSummary("Cache statistics");
        surface.Secure(group.MapGet("/inference/cache/models", CacheModels), ModelKitScopes.Read).WithSummary("Cached models");
        surface.Secure(group.MapDelete("/inference/cache/models/{key}", RemoveCachedModel), ModelKitScopes.Manage).WithSummary("Remove one model from the cache");
        surface.Secure(group.MapPut("/inference/cache/config", ConfigureCacheAsync), ModelKitScopes.Manage).WithSummary("Change the cache's limits").Accepts<CacheConfigBody>("application/json");
        surface.Secure(group.MapPost("/inference/models/preload", PreloadAsync), ModelKitScopes.Manage).WithSummary("Load models into the cache now").Accepts<PreloadBody>("application/json");
        return surface;
    }
}
