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

/// <summary>Maps all of ModelKit's HTTP surfaces at once; the handlers the seed surfaces share live in this class's parts.</summary>
public static partial class ModelKitEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps every surface, each at its seed's own paths under <paramref name="prefix"/> (default: the root): seed 002's
    /// registry and seed 000's deployments on <c>/api/v1/models…</c> (002 answers the registry operations, 000 the rest),
    /// seed 001 on <c>/models…</c>, seed 003 on <c>/inference/…</c>, seed 004 on <c>/api/…</c> and <c>/health</c>, and the
    /// Open Inference Protocol on <c>/v2</c>. Returns a builder whose conventions (authorization, rate limiting, OpenAPI
    /// metadata) apply to all of them. Requires <c>services.AddModelKit().AddHttpApi(…)</c>. To mount one seed alone, or at
    /// another path, call its own <c>Map…Api(prefix)</c> instead.
    /// </summary>
    public static IEndpointConventionBuilder MapModelKit(this IEndpointRouteBuilder endpoints, string? prefix = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var prefixed = SurfaceMap.Normalize(prefix);
        return new ModelKitEndpointConventionBuilder(
        [
            DeploymentApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed, registryOperations: false).Group,
            RegistryApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
            GatewayApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
            InferenceApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
            LlmManagerApiEndpointRouteBuilderExtensions.Map(endpoints, prefixed).Group,
            endpoints.MapOpenInferenceProtocol(prefixed),
        ]);
    }

    internal static Task<IResult> ListModelsAsync(
        IModelRegistry registry, IDeploymentManager deployments, string? page, string? page_size, string? limit, string? offset, string? framework, string? model_type, string? status, string? q,
        string? favorite, CancellationToken cancellationToken) =>
        ListModelPageAsync(registry, deployments, Parse.Int(page, "page"), Parse.Int(page_size, "page_size"), Parse.Int(limit, "limit"), Parse.Int(offset, "offset"),
            framework, model_type, status, q, Parse.Bool(favorite, "favorite"), cancellationToken);

    internal static async Task<IResult> ListModelPageAsync(
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

    internal static async Task<IResult> GetModelAsync(string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var model = await registry.GetModelAsync(model_id, cancellationToken);
        var summary = ModelSummary(model, deployments.FindByModel(model.Id));
        summary["description"] = model.Description;
        summary["tags"] = new JsonArray([.. model.Tags.Select(t => JsonValue.Create(t))]);
        summary["versions"] = new JsonArray([.. model.Versions.Select(v => (JsonNode)VersionJson(v))]);
        return ModelKitJson.Json(summary);
    }

    internal static async Task<IResult> DeployAsync(HttpRequest request, IDeploymentManager deployments, CancellationToken cancellationToken)
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
            message = $"Deployment of model '{info.ModelId}' version {info.Version} accepted; follow it at GET {request.PathBase}{Prefix(request)}/api/v1/models/{info.ModelId}/status.",
        }, StatusCodes.Status202Accepted);
    }

    internal static IResult GetStatus(string model_id, HttpRequest request, IDeploymentManager deployments)
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
            endpoints = new[] { new { type = "inference", url = $"{request.PathBase}{Prefix(request)}/api/v1/models/{info.ModelId}/inference" } },
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

    internal static async Task<IResult> ScaleAsync(string model_id, HttpRequest request, IDeploymentManager deployments, CancellationToken cancellationToken)
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

    internal static async Task<IResult> ModelInferenceAsync(string model_id, HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<InferenceBody>(context.Request, context.RequestAborted);
        return ModelKitJson.Json(await RunAsync(model_id, body, context, inference));
    }

    internal static async Task<IResult> InferAsync(HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<InferenceBody>(context.Request, context.RequestAborted);
        var modelId = body.ModelId ?? body.ModelName ?? throw new InvalidInputException("'model_id' is required.");
        return ModelKitJson.Json(await RunAsync(modelId, body, context, inference));
    }

    internal static async Task<IResult> ModelBatchInferenceAsync(string model_id, HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<BatchInferenceBody>(context.Request, context.RequestAborted);
        var items = await RunBatchAsync(body, context, inference, _ => model_id);
        return ModelKitJson.Json(items.Items.Select(i => i.Success ? (object)i.Result! : new { request_id = $"{context.TraceIdentifier}-{i.Index}", model_id, error = i.Error }));
    }

    internal static async Task<IResult> BatchAsync(HttpContext context, IInferenceService inference)
    {
        var body = await ModelKitJson.ReadAsync<BatchInferenceBody>(context.Request, context.RequestAborted);
        (List<BatchItemResponse> items, BatchSummary summary) = await RunBatchAsync(body, context, inference,
            r => r.ModelId ?? r.ModelName ?? throw new InvalidInputException("'model_id' is required in every request."));
        return ModelKitJson.Json(new { results = items, summary });
    }

    internal static async Task<IResult> HealthAsync(HealthCheckService health, CancellationToken cancellationToken)
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
    internal static async Task<(List<BatchItemResponse> Items, BatchSummary Summary)> RunBatchAsync(
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
    internal static async Task<InferenceResponse> RunAsync(string modelId, InferenceBody body, HttpContext context, IInferenceService inference)
    {
        var (model, request) = await ToRequestAsync(modelId, body, inference, context.RequestAborted);
        return ToResponse(await inference.InferAsync(model, request, context.RequestAborted), context.TraceIdentifier);
    }

    internal static InferenceResponse ToResponse(InferenceResult result, string requestId) => new()
    {
        RequestId = requestId,
        ModelId = result.ModelId,
        Version = result.Version,
        OutputData = TensorJson.WriteOutputs(result.Outputs),
        ProcessingTime = result.Duration.TotalSeconds,
        Timestamp = DateTimeOffset.UtcNow,
    };

    // The body of every inference endpoint as a request for the model it resolves to (once): its signature types the JSON inputs.
    internal static async Task<(IServedModel Model, InferenceRequest Request)> ToRequestAsync(string modelId, InferenceBody body, IInferenceService inference, CancellationToken cancellationToken)
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

    internal static DeploymentInfo DeploymentOfModel(IDeploymentManager deployments, string modelId) =>
        deployments.FindLatestByModel(modelId) ?? throw new DeploymentNotFoundException($"Model '{modelId}' has no deployment.");

    internal static JsonObject ModelSummary(ModelInfo model, DeploymentInfo? deployment)
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

    internal static JsonArray? Specs(IReadOnlyList<ModelKit.Tensors.TensorSpec>? specs) => specs is null ? null : new JsonArray([.. specs.Select(s => (JsonNode)new JsonObject
    {
        ["name"] = s.Name,
        ["datatype"] = s.ElementType.GetDataTypeName(),
        ["shape"] = new JsonArray([.. s.Shape.Select(d => JsonValue.Create(d))]),
    })]);

    // The prefix the surface was mounted at (links in responses are built from it).
    internal static string Prefix(HttpRequest request) => SurfaceMap.PrefixOf(request);
}
