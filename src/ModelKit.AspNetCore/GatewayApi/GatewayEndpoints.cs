using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;
using ModelKit.Text;

namespace ModelKit.AspNetCore;

/// <summary>Seed 001's handlers: one Core call each, shaped into the seed's envelope.</summary>
internal static class GatewayEndpoints
{
    public static async Task<IResult> ListModelsAsync(
        HttpContext context, IModelRegistry registry, IDeploymentManager deployments, IOptions<InferenceOptions> inference, CancellationToken cancellationToken)
    {
        var (local, remote) = await GatewayRules.ListAsync(registry, context.RequestServices.GetService<IRemoteModelCatalog>(), cancellationToken);
        var models = new List<GatewayModel>(local.Count + remote.Count);
        foreach (var model in local) models.Add(Listed(model, deployments.FindByModel(model.Id), inference.Value));
        foreach (var model in remote) models.Add(Listed(model));
        return Gateway.Ok(context, new GatewayModelList(models));
    }

    public static Task<IResult> GetModelAsync(
        string model_id, HttpContext context, IModelRegistry registry, IDeploymentManager deployments, IModelRouter router, IOptions<InferenceOptions> inference, CancellationToken cancellationToken) =>
        ModelAsync(ModelIdRoute.FromSegment(model_id), context, registry, deployments, router, inference, cancellationToken);

    public static Task<IResult> GetOrgModelAsync(
        string org, string name, HttpContext context, IModelRegistry registry, IDeploymentManager deployments, IModelRouter router, IOptions<InferenceOptions> inference, CancellationToken cancellationToken) =>
        ModelAsync(ModelIdRoute.FromSegments(org, name), context, registry, deployments, router, inference, cancellationToken);

    private static async Task<IResult> ModelAsync(
        string modelId, HttpContext context, IModelRegistry registry, IDeploymentManager deployments, IModelRouter router, IOptions<InferenceOptions> inference, CancellationToken cancellationToken)
    {
        if (context.RequestServices.GetService<IRemoteModelCatalog>() is { } catalog && catalog.Find(modelId) is { } remote)
        {
            return Gateway.Ok(context, RemoteDetail(remote, catalog.GetStats(remote.Id)));
        }

        var model = await registry.GetModelAsync(modelId, cancellationToken);
        var active = deployments.FindByModel(model.Id);
        var stats = router.GetQueueStats(model.Id);
        return Gateway.Ok(context, new GatewayModelDetail(Listed(model, active, inference.Value))
        {
            Stats = new GatewayModelStats
            {
                AverageLatencyMs = GatewayVocabulary.LatencyMs(stats),
                Availability = GatewayVocabulary.Availability(stats),
                SucceededRequests = stats.Succeeded,
                FailedRequests = stats.Failed + stats.TimedOut + stats.Rejected,
            },
            Tags = model.Tags,
            Versions = [.. model.Versions.Select(v => v.Version)],
            CreatedAt = model.CreatedAt,
            UpdatedAt = model.UpdatedAt,
        });
    }

    // A model as GET /models lists it (and GET /models/{model_id} starts from).
    private static GatewayModel Listed(ModelInfo model, DeploymentInfo? active, InferenceOptions inference) => new()
    {
        Id = model.Id,
        Name = model.Name,
        Description = model.Description,
        Version = model.DefaultVersion,
        Capabilities = GatewayVocabulary.Capabilities(model.Task),
        Provider = "local",
        Status = GatewayVocabulary.ModelStatus(model, active, inference.ServeUndeployedModels),
        Deployment = DeploymentOf(active, inference),
        ModelType = model.Task,
        Framework = model.Framework,
    };

    // A remote model: served by its provider (no deployment here); 'active' as configured, its requests' outcomes in stats.
    private static GatewayModel Listed(RemoteModelInfo model) => new()
    {
        Id = model.Id,
        Name = model.Name,
        Description = model.Description,
        Version = model.Version,
        Capabilities = ["chat", "completion"],
        Provider = model.Provider,
        Status = "active",
    };

    private static GatewayModelDetail RemoteDetail(RemoteModelInfo model, RemoteModelStats stats)
    {
        var finished = stats.Succeeded + stats.Failed + stats.TimedOut;
        return new GatewayModelDetail(Listed(model))
        {
            Stats = new GatewayModelStats
            {
                AverageLatencyMs = stats.AverageLatencyMs,
                Availability = finished == 0 ? null : Math.Round((double)stats.Succeeded / finished, 6),
                SucceededRequests = stats.Succeeded,
                FailedRequests = stats.Failed + stats.TimedOut,
            },
            Parameters = model.ContextLength is { } context ? new GatewayModelParameters(context) : null,
            Versions = model.Version is { } version ? [version] : [],
            CreatedAt = model.AddedAt,
            UpdatedAt = model.AddedAt,
        };
    }

    public static async Task<IResult> LocalModelsAsync(
        HttpContext context, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var list = deployments.ListDeployments();
        var models = new List<GatewayLocalModel>(list.Count);
        foreach (var d in list)
        {
            var model = await registry.FindModelAsync(d.ModelId, cancellationToken);
            models.Add(new GatewayLocalModel
            {
                Id = d.ModelId,
                Name = model?.Name ?? d.ModelId,
                Version = d.Version,
                Status = GatewayVocabulary.LocalModelStatus(d.State),
                Deployment = new GatewayLocalDeployment
                {
                    DeploymentId = d.DeploymentId,
                    NodeId = Environment.MachineName,
                    Hardware = GatewayVocabulary.Hardware(d.Device, SystemMonitor.CpuModelName),
                    MemoryUsage = d.MemoryUsedBytes is { } bytes ? GatewayVocabulary.Memory(bytes) : null,
                    MemoryBytes = d.MemoryUsedBytes,
                    LoadedAt = d.StartedAt,
                    Health = d.State == DeploymentState.Running && d.ReadyReplicas > 0 ? "healthy" : "unhealthy",
                    Device = d.Device,
                    Replicas = d.ReadyReplicas,
                },
                Performance = new GatewayPerformance
                {
                    AvgLatencyMs = GatewayVocabulary.LatencyMs(d.Queue),
                    MaxBatchSize = d.Batching.MaxBatchSize,
                    AverageBatchSize = Math.Round(d.Queue?.AverageBatchSize ?? 0, 3),
                },
            });
        }

        return Gateway.Ok(context, new GatewayLocalModelList(models));
    }

    // The model is named by model_type and model_size (ModelNaming), or model_id. Settings ModelKit does not apply are
    // named in 'notes' rather than refused, so the seed's example request deploys as written.
    public static async Task<IResult> DeployAsync(
        HttpContext context, IDeploymentManager deployments, IModelRegistry registry, Microsoft.Extensions.Options.IOptions<Downloads.DownloadOptions> downloads,
        CancellationToken cancellationToken)
    {
        var request = context.Request;
        var body = await ModelKitJson.ReadAsync<LocalDeployBody>(request, cancellationToken);
        var modelId = ModelNaming.FromTypeAndSize(body.ModelId, body.ModelType, body.ModelSize);
        // A model of the download catalogue that the registry lacks is downloaded first (the 'downloading_weights' stage).
        var source = await GatewayRules.CatalogueSourceAsync(registry, downloads.Value, modelId, cancellationToken);

        var config = body.DeploymentConfig;
        if (config?.MaxBatchSize is < 1) throw new InvalidInputException($"'deployment_config.max_batch_size' must be at least 1 (was {config.MaxBatchSize}).");
        var info = await deployments.DeployAsync(new DeploymentSpec
        {
            ModelId = modelId,
            Version = body.Version,
            Device = body.Device,
            Batching = config?.MaxBatchSize is { } max ? new BatchingConfig { MaxBatchSize = max }.ToOptions() : null,
            Source = source,
        }, cancellationToken);
        return Gateway.Ok(context, new GatewayDeployAccepted
        {
            DeploymentId = info.DeploymentId,
            Status = GatewayVocabulary.DeploymentStatus(info.State),
            ModelId = info.ModelId,
            ProgressUrl = $"{request.PathBase}{SurfaceMap.PrefixOf(request)}/models/local/deployments/{info.DeploymentId}",
            Version = info.Version,
            Device = info.Device,
            Notes = NotesOn(body),
        });
    }

    private static List<string> NotesOn(LocalDeployBody body) => GatewayRules.DeployNotes(
        body.Quantization,
        body.TargetNodes is { Count: > 0 },
        body.DeploymentConfig is { } c && (c.UseFlashAttention is not null || c.UseKvCache is not null || c.TensorParallelSize is not null || c.CpuOffload is not null));

    public static async Task<IResult> ProgressAsync(string deployment_id, HttpContext context, IDeploymentManager deployments)
    {
        var info = deployments.GetDeployment(deployment_id);
        var logs = await deployments.GetLogsAsync(info.DeploymentId, 100, context.RequestAborted);
        return Gateway.Ok(context, new GatewayDeploymentProgress
        {
            DeploymentId = info.DeploymentId,
            ModelId = info.ModelId,
            Status = GatewayVocabulary.DeploymentStatus(info.State),
            Progress = info.Progress,
            CurrentStage = info.CurrentStage is { } current ? GatewayVocabulary.StageName(current) : null,
            Stages = [.. info.Stages.Select(s => new GatewayStage
            {
                Name = GatewayVocabulary.StageName(s.Name),
                Progress = s.Progress,
                Status = ModelKitJson.Name(s.Status),
                Duration = s.Duration is { } d ? GatewayVocabulary.Duration(d) : null,
                DurationMs = s.Duration?.TotalMilliseconds,
                Message = s.Message,
            })],
            Logs = [.. logs.Select(l => new GatewayLogLine(l.Timestamp, GatewayVocabulary.Level(l.Level), l.Message))],
            Version = info.Version,
            FailureReason = info.FailureReason,
        });
    }

    public static Task<IResult> UnloadAsync(string model_id, HttpContext context, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        UnloadModelAsync(ModelIdRoute.FromSegment(model_id), context, registry, deployments, cancellationToken);

    public static Task<IResult> UnloadOrgAsync(
        string org, string name, HttpContext context, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        UnloadModelAsync(ModelIdRoute.FromSegments(org, name), context, registry, deployments, cancellationToken);

    private static async Task<IResult> UnloadModelAsync(
        string modelId, HttpContext context, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var info = await GatewayRules.UnloadAsync(registry, deployments, modelId, cancellationToken);
        return Gateway.Ok(context, new GatewayUnloaded { ModelId = info.ModelId, Status = "unloaded", Nodes = [Environment.MachineName], DeploymentId = info.DeploymentId });
    }

    // Text generation: OpenAI's objects in the envelope; stream: true answers OpenAI's chunks as server-sent events
    // (the seed leaves streams undefined). The model is the path's (a body 'model' is ignored).
    public static Task<IResult> CompletionsAsync(string model_id, HttpContext context, CancellationToken cancellationToken) =>
        CompleteAsync(ModelIdRoute.FromSegment(model_id), context, cancellationToken);

    public static Task<IResult> OrgCompletionsAsync(string org, string name, HttpContext context, CancellationToken cancellationToken) =>
        CompleteAsync(ModelIdRoute.FromSegments(org, name), context, cancellationToken);

    public static Task<IResult> ChatAsync(string model_id, HttpContext context, CancellationToken cancellationToken) =>
        ChatCompletionAsync(ModelIdRoute.FromSegment(model_id), context, cancellationToken);

    public static Task<IResult> OrgChatAsync(string org, string name, HttpContext context, CancellationToken cancellationToken) =>
        ChatCompletionAsync(ModelIdRoute.FromSegments(org, name), context, cancellationToken);

    private static async Task<IResult> CompleteAsync(string modelId, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<CompletionBody>(context.Request, cancellationToken);
        var request = ChatBodies.ToRequest(modelId, body);
        var (stream, includeUsage) = ChatBodies.Streaming(body.Stream, body.StreamOptions);
        return stream
            ? await TextGenerations.StreamAsync(context, request, chat: false, includeUsage, StreamError, cancellationToken)
            : Gateway.Ok(context, await TextGenerations.CompleteAsync(context, request, cancellationToken));
    }

    private static async Task<IResult> ChatCompletionAsync(string modelId, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<ChatCompletionBody>(context.Request, cancellationToken);
        var request = ChatBodies.ToRequest(modelId, body);
        var (stream, includeUsage) = ChatBodies.Streaming(body.Stream, body.StreamOptions);
        return stream
            ? await TextGenerations.StreamAsync(context, request, chat: true, includeUsage, StreamError, cancellationToken)
            : Gateway.Ok(context, await TextGenerations.ChatAsync(context, request, cancellationToken));
    }

    // An error after a stream started: the envelope's error as the last event.
    private static object StreamError(HttpContext context, SurfaceError error) =>
        new GatewayError(error.Status, error.Message, null, Gateway.RequestId(context), error.Code, error.RetryAfterSeconds);

    public static Task<IResult> EmbeddingsAsync(string model_id, HttpContext context, CancellationToken cancellationToken) =>
        EmbedAsync(ModelIdRoute.FromSegment(model_id), context, cancellationToken);

    public static Task<IResult> OrgEmbeddingsAsync(string org, string name, HttpContext context, CancellationToken cancellationToken) =>
        EmbedAsync(ModelIdRoute.FromSegments(org, name), context, cancellationToken);

    // Seed 001's embeddings: OpenAI's list inside the envelope; the model is the path's (a body 'model' is ignored).
    private static async Task<IResult> EmbedAsync(string modelId, HttpContext context, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<EmbeddingsBody>(context.Request, cancellationToken);
        OpenAiEndpoints.NotRemote(context, modelId);
        var result = await OpenAiEndpoints.ServiceOf(context).EmbedAsync(Embeddings.ToRequest(modelId, body), cancellationToken);
        return Gateway.Ok(context, Embeddings.ToList(result, body.EncodingFormat));
    }

    // Where the model is served: its active deployment's device, else the on-demand default device.
    private static GatewayModelDeployment DeploymentOf(DeploymentInfo? active, InferenceOptions inference)
    {
        var device = active?.Device ?? inference.DefaultDevice;
        return new GatewayModelDeployment
        {
            Type = "local",
            Hardware = GatewayVocabulary.Hardware(device, SystemMonitor.CpuModelName),
            Device = device,
            DeploymentId = active?.DeploymentId,
        };
    }
}
