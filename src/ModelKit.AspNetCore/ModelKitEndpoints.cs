using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelKit;
using ModelKit.AspNetCore;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;
using ModelKit.Tensors;
using static ModelKit.AspNetCore.ModelKitEndpointConventions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps ModelKit's REST surfaces (seeds 000, 002, 003) onto the core services.</summary>
public static partial class ModelKitEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the endpoints under <paramref name="prefix"/> (default <c>/api/v1</c>) and returns the group, so that
    /// authorization, rate limiting or OpenAPI metadata can be added to all of them at once. Requires
    /// <c>services.AddModelKit()</c>. Errors are RFC 9457 problem details with the seed's code in <c>code</c>.
    /// </summary>
    public static RouteGroupBuilder MapModelKit(this IEndpointRouteBuilder endpoints, string prefix = "/api/v1")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<IInferenceService>() is null)
        {
            throw new InvalidOperationException("MapModelKit() needs ModelKit's services: call services.AddModelKit() (and a backend such as .AddOnnxRuntime()) first.");
        }

        var authEnabled = ModelKitEndpointConventions.AuthEnabled(endpoints.ServiceProvider, "MapModelKit()");
        var group = endpoints.MapGroup(prefix).WithTags("ModelKit").WithMetadata(new ModelKitRoutePrefix(prefix.Trim('/') is { Length: > 0 } p ? "/" + p : string.Empty));
        group.ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status429TooManyRequests)
            .ProducesProblem(StatusCodes.Status500InternalServerError).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.AddModelKitFilter(endpoints.ServiceProvider, ModelKitProblems.ToResult);
        endpoints.ServiceProvider.GetService<ModelKitSurfaces>()?.Register(prefix, static (context, code, message) => ModelKitProblems.Problem(context, code, message));

        // Seed 000 + 002: models (registry) and their deployment.
        Secure(group.MapGet("/models", ListModelsAsync), ModelKitScopes.Read, authEnabled).WithSummary("List registered models (paged, filtered)");
        Secure(group.MapGet("/models/{model_id}", GetModelAsync), ModelKitScopes.Read, authEnabled).WithSummary("A model with its versions and deployment");
        Secure(group.MapPost("/models", CreateModelAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Create a model (then upload a version)").Accepts<CreateModelBody>("application/json");
        Secure(group.MapPut("/models/{model_id}", UpdateModelAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Update a model's metadata; 'config' updates its deployment (rolling)").Accepts<UpdateModelBody>("application/json");
        Secure(group.MapDelete("/models/{model_id}", DeleteModelAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Delete a model (force stops its deployment)");
        Secure(group.MapPost("/models/{model_id}/upload", UploadAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Upload a version (multipart, streamed)");
        Secure(group.MapGet("/models/{model_id}/versions", ListVersionsAsync), ModelKitScopes.Read, authEnabled).WithSummary("A model's versions");
        Secure(group.MapDelete("/models/{model_id}/versions/{version}", DeleteVersionAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Delete one version (refused while deployed unless force)");
        Secure(group.MapPost("/models/deploy", DeployAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Deploy a model (seed 000's config)").Accepts<DeployBody>("application/json");
        Secure(group.MapGet("/models/{model_id}/status", GetStatus), ModelKitScopes.Read, authEnabled).WithSummary("A model's deployment status, stages and replicas");
        Secure(group.MapPost("/models/{model_id}/scale", ScaleAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Scale a model's deployment without reloading").Accepts<ScaleBody>("application/json");
        Secure(group.MapPost("/models/{model_id}/inference", ModelInferenceAsync), ModelKitScopes.Infer, authEnabled).WithSummary("Run one inference request").Accepts<InferenceBody>("application/json").Produces<InferenceResponse>();
        Secure(group.MapPost("/models/{model_id}/batch_inference", ModelBatchInferenceAsync), ModelKitScopes.Infer, authEnabled).WithSummary("Run several inference requests").Accepts<BatchInferenceBody>("application/json");

        // Seed 004: model catalogue views over the registry; seed 001: local models.
        Secure(group.MapGet("/models/search", SearchModelsAsync), ModelKitScopes.Read, authEnabled).WithSummary("Search registered models");
        Secure(group.MapGet("/models/categories", CategoriesAsync), ModelKitScopes.Read, authEnabled).WithSummary("Model types with counts");
        Secure(group.MapGet("/models/trending", Trending), ModelKitScopes.Read, authEnabled).WithSummary("Most used models since start");
        Secure(group.MapGet("/models/stats", RegistryStatsAsync), ModelKitScopes.Read, authEnabled).WithSummary("Registry counts and sizes");
        Secure(group.MapGet("/models/{model_id}/info", GetModelAsync), ModelKitScopes.Read, authEnabled).WithSummary("A model with its versions and deployment");
        Secure(group.MapPost("/models/{model_id}/favorite", (string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken ct) => SetFavoriteAsync(model_id, true, registry, deployments, ct)), ModelKitScopes.Manage, authEnabled).WithSummary("Mark a model as favourite");
        Secure(group.MapDelete("/models/{model_id}/favorite", (string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken ct) => SetFavoriteAsync(model_id, false, registry, deployments, ct)), ModelKitScopes.Manage, authEnabled).WithSummary("Unmark a favourite");
        Secure(group.MapGet("/models/local", LocalModels), ModelKitScopes.Read, authEnabled).WithSummary("Deployed (local) models");
        Secure(group.MapPost("/models/local/deploy", LocalDeployAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Deploy a local model (seed 001)").Accepts<LocalDeployBody>("application/json");
        Secure(group.MapDelete("/models/local/{model_id}", LocalUnloadAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Unload a local model: delete its deployment");

        // Seed 004: the deployments resource; seed 001: a local deployment's progress.
        Secure(group.MapPost("/deployments/start", StartDeploymentAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Start a deployment (seed 004)").Accepts<StartDeploymentBody>("application/json");
        Secure(group.MapGet("/deployments/list", ListDeployments), ModelKitScopes.Read, authEnabled).WithSummary("List deployments, optionally by state");
        Secure(group.MapGet("/deployments/{deployment_id}", GetDeployment), ModelKitScopes.Read, authEnabled).WithSummary("A deployment");
        Secure(group.MapPut("/deployments/{deployment_id}/stop", StopDeploymentAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Stop a deployment (drains)");
        Secure(group.MapPut("/deployments/{deployment_id}/restart", RestartDeploymentAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Restart a deployment");
        Secure(group.MapDelete("/deployments/{deployment_id}", DeleteDeploymentAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Stop and delete a deployment");
        Secure(group.MapGet("/deployments/{deployment_id}/logs", DeploymentLogs), ModelKitScopes.Read, authEnabled).WithSummary("A deployment's newest log lines");
        Secure(group.MapGet("/deployments/{deployment_id}/health", DeploymentHealth), ModelKitScopes.Read, authEnabled).WithSummary("A deployment's health");
        Secure(group.MapGet("/deployments/{deployment_id}/model-info", DeploymentModelInfoAsync), ModelKitScopes.Read, authEnabled).WithSummary("The model version a deployment serves");
        Secure(group.MapGet("/models/local/deployments/{deployment_id}", DeploymentProgress), ModelKitScopes.Read, authEnabled).WithSummary("A deployment's progress, stages and log (seed 001)");

        // Seed 003: the unified inference service.
        Secure(group.MapPost("/inference/infer", InferAsync), ModelKitScopes.Infer, authEnabled).WithSummary("Run one inference request naming its model").Accepts<InferenceBody>("application/json").Produces<InferenceResponse>();
        Secure(group.MapPost("/inference/batch", BatchAsync), ModelKitScopes.Infer, authEnabled).WithSummary("Run 1..100 requests, each succeeding or failing alone").Accepts<BatchInferenceBody>("application/json");
        group.MapGet("/inference/health", HealthAsync).AllowAnonymous().WithSummary("Health checks");
        Secure(group.MapPost("/inference/async", SubmitJobAsync), ModelKitScopes.Infer, authEnabled).WithSummary("Submit an asynchronous inference job").Accepts<InferenceBody>("application/json").Produces<JobResponse>(StatusCodes.Status202Accepted);
        Secure(group.MapGet("/inference/async/{job_id}", GetJob), ModelKitScopes.ReadOrInfer, authEnabled).WithSummary("A job's status and result").Produces<JobResponse>();
        Secure(group.MapDelete("/inference/async/{job_id}", CancelJob), ModelKitScopes.Infer, authEnabled).WithSummary("Cancel a job").Produces<JobResponse>();
        Secure(group.MapGet("/inference/supported-tasks", SupportedTasksAsync), ModelKitScopes.Read, authEnabled).WithSummary("Tasks and the models that serve them");
        Secure(group.MapGet("/inference/stats", Stats), ModelKitScopes.Read, authEnabled).WithSummary("Queue, cache and job statistics");
        Secure(group.MapPost("/inference/clear-cache", ClearCache), ModelKitScopes.Manage, authEnabled).WithSummary("Remove unpinned models from the cache");
        Secure(group.MapGet("/inference/cache/stats", CacheStats), ModelKitScopes.Read, authEnabled).WithSummary("Cache statistics");
        Secure(group.MapGet("/inference/cache/models", CacheModels), ModelKitScopes.Read, authEnabled).WithSummary("Cached models");
        Secure(group.MapDelete("/inference/cache/models/{key}", RemoveCachedModel), ModelKitScopes.Manage, authEnabled).WithSummary("Remove one model from the cache");
        Secure(group.MapPut("/inference/cache/config", ConfigureCacheAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Change the cache's limits").Accepts<CacheConfigBody>("application/json");
        Secure(group.MapPost("/inference/models/preload", PreloadAsync), ModelKitScopes.Manage, authEnabled).WithSummary("Load models into the cache now").Accepts<PreloadBody>("application/json");
        group.MapGet("/health", HealthAsync).AllowAnonymous().WithSummary("Health checks");
        group.MapGet("/health/live", Live).AllowAnonymous().WithSummary("Liveness: the process answers");
        group.MapGet("/health/ready", ReadyAsync).AllowAnonymous().WithSummary("Readiness: the registry answers and every served model can serve");

        // Seed 004: the machine.
        Secure(group.MapGet("/system/resources", SystemResources), ModelKitScopes.Read, authEnabled).WithSummary("CPU, memory and disk");
        Secure(group.MapGet("/system/load", SystemLoad), ModelKitScopes.Read, authEnabled).WithSummary("Load averages, thread pool and inference queues");
        Secure(group.MapGet("/system/health", SystemHealthAsync), ModelKitScopes.Read, authEnabled).WithSummary("Health checks, deployments and resources together");
        return group;
    }

    private static Task<IResult> ListModelsAsync(
        IModelRegistry registry, IDeploymentManager deployments, string? page, string? page_size, string? limit, string? offset, string? framework, string? model_type, string? status, string? q,
        string? favorite, CancellationToken cancellationToken) =>
        ListModelPageAsync(registry, deployments, Parse.Int(page, "page"), Parse.Int(page_size, "page_size"), Parse.Int(limit, "limit"), Parse.Int(offset, "offset"),
            framework, model_type, status, q, Parse.Bool(favorite, "favorite"), cancellationToken);

    private static async Task<IResult> ListModelPageAsync(
        IModelRegistry registry, IDeploymentManager deployments, int? page, int? page_size, int? limit, int? offset, string? framework, string? model_type, string? status, string? q,
        bool? favorite, CancellationToken cancellationToken)
    {
        var size = Math.Clamp(page_size ?? limit ?? 20, 1, 1000);
        var skip = offset ?? ((Math.Max(1, page ?? 1) - 1) * size);
        ModelVersionStatus? registryStatus = status?.ToUpperInvariant() switch
        {
            null => null,
            "UPLOADING" => ModelVersionStatus.Uploading,
            "READY" => ModelVersionStatus.Ready,
            "FAILED" => ModelVersionStatus.Failed,
            _ => throw new InvalidInputException($"'status' must be uploading, ready or failed (was '{status}')."),
        };
        var result = await registry.ListModelsAsync(new ModelQuery { Framework = framework, Task = model_type, Status = registryStatus, Text = q, Favorite = favorite, Offset = skip, Limit = size }, cancellationToken);
        return ModelKitJson.Json(new
        {
            items = result.Items.Select(m => ModelSummary(m, deployments.FindByModel(m.Id))),
            pagination = new { page = (skip / size) + 1, page_size = size, offset = skip, total = result.Total, total_pages = (result.Total + size - 1) / size },
        });
    }

    private static async Task<IResult> GetModelAsync(string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var model = await registry.GetModelAsync(model_id, cancellationToken);
        var summary = ModelSummary(model, deployments.FindByModel(model.Id));
        summary["description"] = model.Description;
        summary["tags"] = new JsonArray([.. model.Tags.Select(t => JsonValue.Create(t))]);
        summary["versions"] = new JsonArray([.. model.Versions.Select(v => (JsonNode)VersionJson(v))]);
        return ModelKitJson.Json(summary);
    }

    private static async Task<IResult> DeployAsync(HttpRequest request, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<DeployBody>(request, cancellationToken);
        var config = body.Config ?? throw new InvalidInputException("'config' is required.");
        if (string.IsNullOrWhiteSpace(config.ModelId)) throw new InvalidInputException("'config.model_id' is required.");
        var scaling = config.ScalingConfig;
        var info = await deployments.DeployAsync(new DeploymentSpec
        {
            DeploymentId = config.DeploymentId,
            ModelId = config.ModelId,
            Version = config.Version,
            Replicas = scaling?.Replicas ?? Math.Max(1, scaling?.MinReplicas ?? 1),
            MinReplicas = scaling?.MinReplicas,
            MaxReplicas = scaling?.MaxReplicas,
            TargetQueueDepth = scaling?.TargetQueueDepth ?? 8,
            MemoryRequestBytes = ResourceQuantity.ParseBytes(config.ResourceRequirements?.Memory, "resource_requirements.memory"),
            Device = ResourceQuantity.Device(config.Device, config.ResourceRequirements?.Gpu),
            DefaultPriority = Parse.Priority(config.Priority) ?? RequestPriority.Normal,
            Environment = config.EnvironmentVariables,
            Batching = config.Batching?.ToOptions(),
        }, cancellationToken);
        return ModelKitJson.Json(new
        {
            deployment_id = info.DeploymentId,
            model_id = info.ModelId,
            version = info.Version,
            status = info.State,
            message = $"Deployment of model '{info.ModelId}' version {info.Version} accepted; follow it at GET {request.PathBase}{Prefix(request)}/models/{info.ModelId}/status.",
        }, StatusCodes.Status202Accepted);
    }

    private static IResult GetStatus(string model_id, HttpRequest request, IDeploymentManager deployments)
    {
        var info = DeploymentOfModel(deployments, model_id);
        return ModelKitJson.Json(new
        {
            model_id = info.ModelId,
            deployment_id = info.DeploymentId,
            version = info.Version,
            status = info.State,
            failure_reason = info.FailureReason,
            replicas = new { desired = info.DesiredReplicas, current = info.Queue?.Instances ?? 0, ready = info.ReadyReplicas, min = info.MinReplicas, max = info.MaxReplicas },
            device = info.Device,
            endpoints = new[] { new { type = "inference", url = $"{request.PathBase}{Prefix(request)}/models/{info.ModelId}/inference" } },
            created_at = info.CreatedAt,
            updated_at = info.UpdatedAt,
            resource_usage = new { memory = info.MemoryUsedBytes, memory_request = info.MemoryRequestBytes, device = info.Device },
            progress = info.Progress,
            current_stage = info.CurrentStage,
            stages = info.Stages.Select(s => new { name = s.Name, status = s.Status, duration_ms = s.Duration?.TotalMilliseconds, message = s.Message }),
            queue = info.Queue,
            environment_variables = info.Environment,
        });
    }

    private static async Task<IResult> ScaleAsync(string model_id, HttpRequest request, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<ScaleBody>(request, cancellationToken);
        var replicas = body.Replicas ?? throw new InvalidInputException("'replicas' is required.");
        var current = deployments.FindByModel(model_id) ?? throw new DeploymentNotFoundException($"Model '{model_id}' has no active deployment to scale.");
        var before = current.ReadyReplicas;
        var info = deployments.Scale(current.DeploymentId, replicas);
        return ModelKitJson.Json(new
        {
            message = $"Scaled deployment '{info.DeploymentId}' from {before} to {info.DesiredReplicas} replica(s).",
            current_replicas = info.ReadyReplicas,
            target_replicas = info.DesiredReplicas,
        });
    }

    private static async Task<IResult> ModelInferenceAsync(string model_id, HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<InferenceBody>(context.Request, context.RequestAborted);
        return ModelKitJson.Json(await RunAsync(model_id, body, context, inference));
    }

    private static async Task<IResult> InferAsync(HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<InferenceBody>(context.Request, context.RequestAborted);
        var modelId = body.ModelId ?? body.ModelName ?? throw new InvalidInputException("'model_id' is required.");
        return ModelKitJson.Json(await RunAsync(modelId, body, context, inference));
    }

    private static async Task<IResult> ModelBatchInferenceAsync(string model_id, HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<BatchInferenceBody>(context.Request, context.RequestAborted);
        var items = await RunBatchAsync(body, context, inference, _ => model_id);
        return ModelKitJson.Json(items.Items.Select(i => i.Success ? (object)i.Result! : new { request_id = $"{context.TraceIdentifier}-{i.Index}", model_id, error = i.Error }));
    }

    private static async Task<IResult> BatchAsync(HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<BatchInferenceBody>(context.Request, context.RequestAborted);
        (List<BatchItemResponse> items, BatchSummary summary) = await RunBatchAsync(body, context, inference,
            r => r.ModelId ?? r.ModelName ?? throw new InvalidInputException("'model_id' is required in every request."));
        return ModelKitJson.Json(new { results = items, summary });
    }

    private static async Task<IResult> HealthAsync(HealthCheckService health, CancellationToken cancellationToken)
    {
        var report = await health.CheckHealthAsync(cancellationToken);
        return ModelKitJson.Json(new
        {
            status = ModelKitJson.Name(report.Status),
            duration_ms = report.TotalDuration.TotalMilliseconds,
            checks = report.Entries.ToDictionary(e => e.Key, e => new { status = ModelKitJson.Name(e.Value.Status), description = e.Value.Description, data = e.Value.Data }),
        }, report.Status == HealthStatus.Unhealthy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status200OK);
    }

    // Each item is read on its own (a bad one fails alone, in its place); the core runs the batch and sums it up.
    private static async Task<(List<BatchItemResponse> Items, BatchSummary Summary)> RunBatchAsync(
        BatchInferenceBody body, HttpContext context, IInferenceService inference, Func<InferenceBody, string> modelOf)
    {
        var bodies = body.Requests ?? throw new InvalidInputException("'requests' is required.");
        var items = new InferenceBatchItem[bodies.Count];
        for (var i = 0; i < items.Length; i++)
        {
            if (bodies[i] is null)
            {
                items[i] = InferenceBatchItem.Failed(new InvalidInputException($"Request {i} is null; each item must be an object with 'input_data'."));
                continue;
            }

            var item = bodies[i] with { Timeout = bodies[i].Timeout ?? body.Timeout, Priority = bodies[i].Priority ?? body.Priority };
            try
            {
                items[i] = InferenceBatchItem.Of((await ToRequestAsync(modelOf(item), item, inference, context.RequestAborted)).Request);
            }
            catch (ModelKitException ex)
            {
                items[i] = InferenceBatchItem.Failed(ex);
            }
        }

        var batch = await inference.InferManyAsync(items, sequential: body.Parallel == false, context.RequestAborted);
        var responses = new List<BatchItemResponse>(batch.Total);
        for (var i = 0; i < batch.Total; i++)
        {
            responses.Add(batch.Items[i].Result is { } result
                ? new BatchItemResponse { Index = i, Success = true, Result = ToResponse(result, $"{context.TraceIdentifier}-{i}") }
                : new BatchItemResponse { Index = i, Success = false, Error = ErrorOf(i, batch.Items[i].Error) });
        }

        return (responses, new BatchSummary(batch.Total, batch.Succeeded, batch.Failed, batch.TotalTime.TotalSeconds));

        static ErrorBody ErrorOf(int index, Exception? error) => error is ModelKitException known
            ? new ErrorBody(known.ErrorCode, known.Message)
            : new ErrorBody(ModelKitErrorCodes.InternalError, $"Item {index} failed unexpectedly.");
    }

    // Parse → run → shape the response: the whole of what an inference endpoint does.
    private static async Task<InferenceResponse> RunAsync(string modelId, InferenceBody body, HttpContext context, IInferenceService inference)
    {
        var (model, request) = await ToRequestAsync(modelId, body, inference, context.RequestAborted);
        return ToResponse(await inference.InferAsync(model, request, context.RequestAborted), context.TraceIdentifier);
    }

    private static InferenceResponse ToResponse(InferenceResult result, string requestId) => new()
    {
        RequestId = requestId,
        ModelId = result.ModelId,
        Version = result.Version,
        OutputData = TensorJson.WriteOutputs(result.Outputs),
        ProcessingTime = result.Duration.TotalSeconds,
        Timestamp = DateTimeOffset.UtcNow,
    };

    // The body of every inference endpoint as a request for the model it resolves to (once): its signature types the JSON inputs.
    private static async Task<(IServedModel Model, InferenceRequest Request)> ToRequestAsync(string modelId, InferenceBody body, IInferenceService inference, CancellationToken cancellationToken)
    {
        Parse.Engine(body.Engine);
        var model = await inference.ResolveAsync(modelId, body.Version, cancellationToken);
        var signature = model.Signature;
        return (model, new InferenceRequest
        {
            ModelId = modelId,
            Version = body.Version,
            Inputs = TensorJson.ReadInputs(body.InputData ?? body.Data, signature),
            Priority = Parse.Priority(body.Priority),
            Timeout = Parse.Timeout(body.Timeout),
            Task = body.Task,
        });
    }

    private static DeploymentInfo DeploymentOfModel(IDeploymentManager deployments, string modelId) =>
        deployments.FindLatestByModel(modelId) ?? throw new DeploymentNotFoundException($"Model '{modelId}' has no deployment.");

    private static JsonObject ModelSummary(ModelInfo model, DeploymentInfo? deployment)
    {
        var version = model.FindVersion(null);
        return new JsonObject
        {
            ["model_id"] = model.Id,
            ["name"] = model.Name,
            ["framework"] = model.Framework,
            ["model_type"] = model.Task,
            ["status"] = ModelKitJson.Name(model.Status),
            ["default_version"] = model.DefaultVersion,
            ["total_size"] = model.Versions.Sum(v => v.SizeBytes),
            ["version_count"] = model.Versions.Count,
            ["favorite"] = model.Favorite,
            ["created_at"] = model.CreatedAt,
            ["updated_at"] = model.UpdatedAt,
            ["deployment"] = deployment is null ? null : new JsonObject
            {
                ["deployment_id"] = deployment.DeploymentId,
                ["status"] = ModelKitJson.Name(deployment.State),
                ["version"] = deployment.Version,
                ["replicas"] = deployment.ReadyReplicas,
            },
            ["inputs"] = Specs(version?.Signature?.Inputs),
        };
    }

    private static JsonArray? Specs(IReadOnlyList<ModelKit.Tensors.TensorSpec>? specs) => specs is null ? null : new JsonArray([.. specs.Select(s => (JsonNode)new JsonObject
    {
        ["name"] = s.Name,
        ["datatype"] = s.ElementType.GetDataTypeName(),
        ["shape"] = new JsonArray([.. s.Shape.Select(d => JsonValue.Create(d))]),
    })]);

    // The prefix MapModelKit was called with (links in responses are built from it).
    private static string Prefix(HttpRequest request) =>
        request.HttpContext.GetEndpoint()?.Metadata.GetMetadata<ModelKitRoutePrefix>()?.Value ?? string.Empty;
}
