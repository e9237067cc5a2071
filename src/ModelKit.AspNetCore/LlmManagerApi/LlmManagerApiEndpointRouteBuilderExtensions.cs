using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// Seed 004, the LLM manager API at <c>/api/…</c>, <c>/health</c> and <c>/ws/…</c>: system, model catalogue, downloads,
/// deployments, chat; in the envelope <c>{"success", "message", "data", "code", "timestamp"}</c>.
/// </summary>
public static class LlmManagerApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "004";

    /// <summary>Maps seed 004 under <paramref name="prefix"/> (default: the seed's own <c>/api/…</c> and <c>/health</c>).</summary>
    public static RouteGroupBuilder MapLlmManagerApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, prefix).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapLlmManagerApi()", "Seed 004 · LLM manager API", prefix, LlmManager.Errors, typeof(LlmError), "/api", "/health", "/ws");
        var group = surface.Group;

        // Health answers every caller (load balancers and probes send no key).
        group.MapGet("/health", LlmSystemEndpoints.ServiceHealthAsync).AllowAnonymous()
            .WithName("Seed004_Health").WithSummary("Service health").Produces<LlmServiceHealth>().Produces<LlmServiceHealth>(StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/api/health", LlmSystemEndpoints.ApiHealthAsync).AllowAnonymous()
            .WithName("Seed004_ApiHealth").WithSummary("API health").Produces<LlmApiHealth>().Produces<LlmApiHealth>(StatusCodes.Status503ServiceUnavailable);
        group.MapGet("/health/live", LlmSystemEndpoints.Live).AllowAnonymous().WithName("ModelKit_Live").WithSummary("Liveness: the process answers")
            .Produces<LivenessProbe>();
        group.MapGet("/health/ready", LlmSystemEndpoints.ReadyAsync).AllowAnonymous()
            .WithName("ModelKit_Ready").WithSummary("Readiness: the registry answers and every served model can serve")
            .Produces<ReadinessProbe>().Produces<ReadinessProbe>(StatusCodes.Status503ServiceUnavailable);
        surface.Secure(group.MapGet("/api/system/resources", LlmSystemEndpoints.Resources), ModelKitScopes.Read)
            .WithName("Seed004_SystemResources").WithSummary("CPU, memory and disk").Produces<LlmEnvelope<LlmResources>>();
        surface.Secure(group.MapGet("/api/system/load", LlmSystemEndpoints.Load), ModelKitScopes.Read)
            .WithName("Seed004_SystemLoad").WithSummary("Load averages, thread pool and inference queues").Produces<LlmEnvelope<LlmLoad>>();
        surface.Secure(group.MapGet("/api/system/health", LlmSystemEndpoints.SystemHealthAsync), ModelKitScopes.Read)
            .WithName("Seed004_SystemHealth").WithSummary("Health checks, deployments and resources together").Produces<LlmEnvelope<LlmSystemHealth>>();

        surface.Secure(group.MapGet("/api/models/search", LlmCatalogueEndpoints.SearchAsync), ModelKitScopes.Read)
            .WithName("Seed004_SearchModels").WithSummary("Search the registry (source=local, the default) or the model hub (source=huggingface)")
            .Produces<LlmEnvelope<LlmPage<LlmModel>>>().Produces<LlmEnvelope<LlmPage<LlmHubModel>>>();
        surface.Secure(group.MapGet("/api/models/categories", LlmCatalogueEndpoints.CategoriesAsync), ModelKitScopes.Read)
            .WithName("Seed004_ModelCategories").WithSummary("Model types and frameworks with counts").Produces<LlmEnvelope<LlmCategories>>();
        surface.Secure(group.MapGet("/api/models/trending", LlmCatalogueEndpoints.Trending), ModelKitScopes.Read)
            .WithName("Seed004_TrendingModels").WithSummary("Most used models since they were loaded").Produces<LlmEnvelope<LlmTrending>>();
        surface.Secure(group.MapGet("/api/models/stats", LlmCatalogueEndpoints.StatsAsync), ModelKitScopes.Read)
            .WithName("Seed004_ModelStats").WithSummary("Registry counts and sizes").Produces<LlmEnvelope<LlmModelStats>>();
        surface.Secure(group.MapPost("/api/models/sync", LlmCatalogueEndpoints.SyncAsync), ModelKitScopes.Manage)
            .WithName("Seed004_SyncModels").WithSummary("Refresh the hub metadata (revision, downloads, likes, tags, size) of models downloaded from a hub")
            .Accepts<LlmSyncBody>("application/json").Produces<LlmEnvelope<LlmSyncResult>>();
        surface.Secure(group.MapGet("/api/models/{model_id}/info", LlmCatalogueEndpoints.InfoAsync), ModelKitScopes.Read)
            .WithName("Seed004_ModelInfo").WithSummary("A registered model with its versions and signature, or the hub's model (source=huggingface)")
            .Produces<LlmEnvelope<LlmModel>>().Produces<LlmEnvelope<LlmHubModel>>();
        surface.Secure(group.MapPost("/api/models/{model_id}/favorite", LlmCatalogueEndpoints.FavoriteAsync), ModelKitScopes.Manage)
            .WithName("Seed004_FavoriteModel").WithSummary("Mark a model as favourite").Produces<LlmEnvelope<LlmModel>>();
        surface.Secure(group.MapDelete("/api/models/{model_id}/favorite", LlmCatalogueEndpoints.UnfavoriteAsync), ModelKitScopes.Manage)
            .WithName("Seed004_UnfavoriteModel").WithSummary("Unmark a favourite").Produces<LlmEnvelope<LlmModel>>();
        // Ids of the Hugging Face form org/name (microsoft/DialoGPT-medium) as two path segments; an escaped %2F works above.
        surface.Secure(group.MapGet("/api/models/{org}/{name}/info", LlmCatalogueEndpoints.OrgInfoAsync), ModelKitScopes.Read).ExcludeFromDescription();
        surface.Secure(group.MapPost("/api/models/{org}/{name}/favorite", LlmCatalogueEndpoints.OrgFavoriteAsync), ModelKitScopes.Manage).ExcludeFromDescription();
        surface.Secure(group.MapDelete("/api/models/{org}/{name}/favorite", LlmCatalogueEndpoints.OrgUnfavoriteAsync), ModelKitScopes.Manage).ExcludeFromDescription();

        surface.Secure(group.MapPost("/api/downloads/start", LlmDownloadEndpoints.StartAsync), ModelKitScopes.Manage)
            .WithName("Seed004_StartDownload").WithSummary("Start downloading a model (huggingface, url or file) into the registry").Accepts<LlmDownloadBody>("application/json")
            .Produces<LlmEnvelope<LlmDownloadStarted>>();
        surface.Secure(group.MapPut("/api/downloads/{task_id}/pause", LlmDownloadEndpoints.PauseAsync), ModelKitScopes.Manage)
            .WithName("Seed004_PauseDownload").WithSummary("Pause a download, keeping what it received").Produces<LlmEnvelope<LlmDownloadTask>>();
        surface.Secure(group.MapPut("/api/downloads/{task_id}/resume", LlmDownloadEndpoints.ResumeAsync), ModelKitScopes.Manage)
            .WithName("Seed004_ResumeDownload").WithSummary("Resume a paused or failed download where it stopped").Produces<LlmEnvelope<LlmDownloadTask>>();
        surface.Secure(group.MapPut("/api/downloads/{task_id}/cancel", LlmDownloadEndpoints.CancelAsync), ModelKitScopes.Manage)
            .WithName("Seed004_CancelDownload").WithSummary("Cancel a download and remove its files").Produces<LlmEnvelope<LlmDownloadTask>>();
        surface.Secure(group.MapGet("/api/downloads/list", LlmDownloadEndpoints.ListAsync), ModelKitScopes.Read)
            .WithName("Seed004_ListDownloads").WithSummary("Download tasks, newest first, optionally by status").Produces<LlmEnvelope<LlmDownloadList>>();
        surface.Secure(group.MapGet("/api/downloads/queue", LlmDownloadEndpoints.Queue), ModelKitScopes.Read)
            .WithName("Seed004_DownloadQueue").WithSummary("Download slots, active and pending tasks").Produces<LlmEnvelope<LlmDownloadQueue>>();
        surface.Secure(group.MapGet("/api/downloads/storage", LlmCatalogueEndpoints.StorageAsync), ModelKitScopes.Read)
            .WithName("Seed004_Storage").WithSummary("The data directory's disk, the registry's and downloads' share of it").Produces<LlmEnvelope<LlmStorage>>();
        surface.Secure(group.MapGet("/api/downloads/{task_id}", LlmDownloadEndpoints.GetAsync), ModelKitScopes.Read)
            .WithName("Seed004_GetDownload").WithSummary("A download task with its progress").Produces<LlmEnvelope<LlmDownloadTask>>();
        surface.Secure(group.MapDelete("/api/downloads/{task_id}", LlmDownloadEndpoints.DeleteAsync), ModelKitScopes.Manage)
            .WithName("Seed004_DeleteDownload").WithSummary("Delete a download task (cancelling it first); a registered model stays").Produces<LlmEnvelope<LlmDownloadDeleted>>();
        surface.Secure(group.MapPost("/api/ws/ticket", LlmDownloadEndpoints.Ticket), ModelKitScopes.Read)
            .WithName("ModelKit_WebSocketTicket").WithSummary("A one-time ticket for a browser's WebSocket (?ticket=…)").Produces<LlmEnvelope<LlmSocketTicket>>();
        surface.Secure(group.MapGet("/ws/downloads", DownloadProgressSocket.RunAsync), ModelKitScopes.Read)
            .WithName("Seed004_DownloadProgressSocket").ExcludeFromDescription(); // a WebSocket, which OpenAPI cannot describe (docs/downloads.md has its messages)

        surface.Secure(group.MapPost("/api/deployments/start", LlmDeploymentEndpoints.StartAsync), ModelKitScopes.Manage)
            .WithName("Seed004_StartDeployment").WithSummary("Start a deployment of a registered model").Accepts<StartDeploymentBody>("application/json")
            .Produces<LlmEnvelope<LlmDeployment>>().Produces<LlmError>(StatusCodes.Status501NotImplemented);
        surface.Secure(group.MapGet("/api/deployments/list", LlmDeploymentEndpoints.List), ModelKitScopes.Read)
            .WithName("Seed004_ListDeployments").WithSummary("Deployments, optionally by status").Produces<LlmEnvelope<LlmDeploymentList>>();
        surface.Secure(group.MapGet("/api/deployments/{deployment_id}", LlmDeploymentEndpoints.Get), ModelKitScopes.Read)
            .WithName("Seed004_GetDeployment").WithSummary("A deployment").Produces<LlmEnvelope<LlmDeployment>>();
        surface.Secure(group.MapPut("/api/deployments/{deployment_id}/stop", LlmDeploymentEndpoints.StopAsync), ModelKitScopes.Manage)
            .WithName("Seed004_StopDeployment").WithSummary("Stop a deployment (drains)").Produces<LlmEnvelope<LlmDeployment>>();
        surface.Secure(group.MapPut("/api/deployments/{deployment_id}/restart", LlmDeploymentEndpoints.RestartAsync), ModelKitScopes.Manage)
            .WithName("Seed004_RestartDeployment").WithSummary("Restart a deployment").Produces<LlmEnvelope<LlmDeployment>>();
        surface.Secure(group.MapDelete("/api/deployments/{deployment_id}", LlmDeploymentEndpoints.DeleteAsync), ModelKitScopes.Manage)
            .WithName("Seed004_DeleteDeployment").WithSummary("Stop and delete a deployment").Produces<LlmEnvelope<LlmDeploymentDeleted>>();
        surface.Secure(group.MapGet("/api/deployments/{deployment_id}/logs", LlmDeploymentEndpoints.LogsAsync), ModelKitScopes.Read)
            .WithName("Seed004_DeploymentLogs").WithSummary("A deployment's newest log lines").Produces<LlmEnvelope<LlmDeploymentLogs>>();
        surface.Secure(group.MapGet("/api/deployments/{deployment_id}/health", LlmDeploymentEndpoints.Health), ModelKitScopes.Read)
            .WithName("Seed004_DeploymentHealth").WithSummary("A deployment's health (503 DEPLOYMENT_NOT_RUNNING when not serving)").Produces<LlmEnvelope<LlmDeploymentHealth>>();
        surface.Secure(group.MapGet("/api/deployments/{deployment_id}/model-info", LlmDeploymentEndpoints.ModelInfoAsync), ModelKitScopes.Read)
            .WithName("Seed004_DeploymentModelInfo").WithSummary("The model version a deployment serves").Produces<LlmEnvelope<LlmDeploymentModelInfo>>();

        surface.Secure(group.MapPost("/api/chat/{deployment_id}", LlmChatEndpoints.ChatAsync), ModelKitScopes.Infer)
            .WithName("Seed004_Chat").WithSummary("Chat with a deployed decoder (stream: true answers server-sent chunks)").Accepts<ChatCompletionBody>("application/json")
            .Produces<LlmEnvelope<ChatCompletion>>();
        surface.Secure(group.MapPost("/api/completions/{deployment_id}", LlmChatEndpoints.CompletionsAsync), ModelKitScopes.Infer)
            .WithName("Seed004_Completions").WithSummary("Text completion with a deployed decoder (stream: true answers server-sent chunks)").Accepts<CompletionBody>("application/json")
            .Produces<LlmEnvelope<TextCompletion>>();
        return surface;
    }
}
