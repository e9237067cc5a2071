using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;
using ModelKit.Deployments;
using ModelKit.Registry;
using static Microsoft.AspNetCore.Builder.ModelKitEndpointRouteBuilderExtensions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 004, the LLM manager API at <c>/api/…</c> and <c>/health</c>: system, model catalogue and deployments.</summary>
public static class LlmManagerApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "004";

    /// <summary>Maps seed 004 under <paramref name="prefix"/> (default: the seed's own <c>/api/…</c> and <c>/health</c>).</summary>
    public static RouteGroupBuilder MapLlmManagerApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, prefix).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapLlmManagerApi()", "Seed 004 · LLM manager API", prefix, ModelKitProblems.Writer, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), "/api", "/health", "/ws");
        var group = surface.Group;
        group.MapGet("/health", HealthAsync).AllowAnonymous().WithSummary("Health checks");
        group.MapGet("/health/live", Live).AllowAnonymous().WithSummary("Liveness: the process answers");
        group.MapGet("/health/ready", ReadyAsync).AllowAnonymous().WithSummary("Readiness: the registry answers and every served model can serve");
        surface.Secure(group.MapGet("/api/system/resources", SystemResources), ModelKitScopes.Read).WithSummary("CPU, memory and disk");
        surface.Secure(group.MapGet("/api/system/load", SystemLoad), ModelKitScopes.Read).WithSummary("Load averages, thread pool and inference queues");
        surface.Secure(group.MapGet("/api/system/health", SystemHealthAsync), ModelKitScopes.Read).WithSummary("Health checks, deployments and resources together");

        surface.Secure(group.MapGet("/api/models/search", SearchModelsAsync), ModelKitScopes.Read).WithSummary("Search registered models");
        surface.Secure(group.MapGet("/api/models/categories", CategoriesAsync), ModelKitScopes.Read).WithSummary("Model types with counts");
        surface.Secure(group.MapGet("/api/models/trending", Trending), ModelKitScopes.Read).WithSummary("Most used models since start");
        surface.Secure(group.MapGet("/api/models/stats", RegistryStatsAsync), ModelKitScopes.Read).WithSummary("Registry counts and sizes");
        surface.Secure(group.MapGet("/api/models/{model_id}/info", GetModelAsync), ModelKitScopes.Read).WithSummary("A model with its versions and deployment");
        surface.Secure(group.MapPost("/api/models/{model_id}/favorite", (string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken ct) =>
            SetFavoriteAsync(model_id, true, registry, deployments, ct)), ModelKitScopes.Manage).WithSummary("Mark a model as favourite");
        surface.Secure(group.MapDelete("/api/models/{model_id}/favorite", (string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken ct) =>
            SetFavoriteAsync(model_id, false, registry, deployments, ct)), ModelKitScopes.Manage).WithSummary("Unmark a favourite");

        surface.Secure(group.MapPost("/api/deployments/start", StartDeploymentAsync), ModelKitScopes.Manage).WithSummary("Start a deployment").Accepts<StartDeploymentBody>("application/json");
        surface.Secure(group.MapGet("/api/deployments/list", ListDeployments), ModelKitScopes.Read).WithSummary("List deployments, optionally by state");
        surface.Secure(group.MapGet("/api/deployments/{deployment_id}", GetDeployment), ModelKitScopes.Read).WithSummary("A deployment");
        surface.Secure(group.MapPut("/api/deployments/{deployment_id}/stop", StopDeploymentAsync), ModelKitScopes.Manage).WithSummary("Stop a deployment (drains)");
        surface.Secure(group.MapPut("/api/deployments/{deployment_id}/restart", RestartDeploymentAsync), ModelKitScopes.Manage).WithSummary("Restart a deployment");
        surface.Secure(group.MapDelete("/api/deployments/{deployment_id}", DeleteDeploymentAsync), ModelKitScopes.Manage).WithSummary("Stop and delete a deployment");
        surface.Secure(group.MapGet("/api/deployments/{deployment_id}/logs", DeploymentLogs), ModelKitScopes.Read).WithSummary("A deployment's newest log lines");
        surface.Secure(group.MapGet("/api/deployments/{deployment_id}/health", DeploymentHealth), ModelKitScopes.Read).WithSummary("A deployment's health");
        surface.Secure(group.MapGet("/api/deployments/{deployment_id}/model-info", DeploymentModelInfoAsync), ModelKitScopes.Read).WithSummary("The model version a deployment serves");
        return surface;
    }
}
