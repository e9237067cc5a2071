using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;

namespace ModelKit.AspNetCore;

/// <summary>Seed 000's deployment operations: deploy, status, scale and update (PUT with <c>config</c>).</summary>
internal static partial class DeploymentApiHandlers
{
    public static async Task<IResult> DeployAsync(
        HttpRequest request, IModelRegistry registry, IDeploymentManager deployments, IOptions<InferenceOptions> inference, IEnumerable<IInferenceBackend> backends,
        CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<DeployBody>(request, cancellationToken);
        var config = body.Config ?? throw new InvalidInputException("'config' is required.");
        if (string.IsNullOrWhiteSpace(config.ModelId)) throw new InvalidInputException("'config.model_id' is required.");
        var registered = await registry.FindModelAsync(config.ModelId, cancellationToken);
        if (registered is not null && !backends.Any(b => b.Framework.Equals(registered.Framework, StringComparison.OrdinalIgnoreCase)))
        {
            // Refused here rather than failing in the background: no backend of this server runs the model's files.
            throw new InvalidModelConfigException(
                $"Model '{registered.Id}' is registered as '{registered.Framework}', which this server cannot run; it serves {string.Join(", ", backends.Select(b => b.Framework))} models.");
        }
        var notes = new List<string>();
        var device = DeploymentResources.Device(config.Device, config.ResourceRequirements, inference.Value.DefaultDevice, notes);
        var scaling = config.ScalingConfig;
        DeploymentResources.NoteNotApplied(config.ResourceRequirements, scaling, config.DockerImage, config.Framework, registered?.Framework ?? "onnx", notes);

        DeploymentInfo info;
        try
        {
            info = await deployments.DeployAsync(new DeploymentSpec
            {
                DeploymentId = config.DeploymentId,
                ModelId = config.ModelId,
                Version = config.Version,
                Replicas = scaling?.Replicas ?? Math.Max(1, scaling?.MinReplicas ?? 1),
                MinReplicas = scaling?.MinReplicas,
                MaxReplicas = scaling?.MaxReplicas,
                TargetQueueDepth = scaling?.TargetQueueDepth ?? 8,
                MemoryRequestBytes = ResourceQuantity.ParseBytes(config.ResourceRequirements?.Memory, "resource_requirements.memory"),
                Device = device,
                DefaultPriority = Parse.Priority(config.Priority) ?? RequestPriority.Normal,
                Environment = config.EnvironmentVariables,
                Batching = config.Batching?.ToOptions(),
            }, cancellationToken);
        }
        catch (ModelKitConflictException ex)
        {
            // Seed 000 names this MODEL_ALREADY_EXISTS (409): the model, or a deployment under that id, is deployed already.
            throw new ModelAlreadyExistsException(ex.Message);
        }

        return ModelKitJson.Json(DeployResponse.Of(
            info,
            $"Deployment '{info.DeploymentId}' of model '{info.ModelId}' version {info.Version} accepted on {info.Device}; follow it at GET {ModelsPath(request)}/{ModelIdRoute.ToSegment(info.ModelId)}/status.",
            notes), StatusCodes.Status202Accepted);
    }

    public static async Task<IResult> StatusAsync(string model_id, HttpRequest request, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        // A model the registry no longer has (deleted with force=true) has no status, whatever deployment record is left.
        var model = await registry.FindModelAsync(model_id, cancellationToken) ?? throw NoDeployment(model_id, known: false, request);
        var info = deployments.FindLatestByModel(model_id) ?? throw NoDeployment(model_id, known: true, request);
        var models = ModelsPath(request);
        var baseUrl = $"{request.Scheme}://{request.Host}{models}/{ModelIdRoute.ToSegment(info.ModelId)}";
        return ModelKitJson.Json(new ModelStatusResponse
        {
            ModelId = info.ModelId,
            Name = model.Name,
            Version = info.Version,
            Status = DeploymentStatusNames.Of(info.State),
            Replicas = new ReplicaCounts(info.DesiredReplicas, info.Queue?.Instances ?? 0, info.ReadyReplicas, info.MinReplicas, info.MaxReplicas),
            Endpoints = [new ServiceEndpoint("inference", baseUrl + "/inference"), new ServiceEndpoint("batch_inference", baseUrl + "/batch_inference")],
            CreatedAt = info.CreatedAt,
            UpdatedAt = info.UpdatedAt,
            ResourceUsage = new ResourceUsage
            {
                Memory = info.MemoryUsedBytes is { } used ? DeploymentResources.Quantity(used) : null,
                MemoryBytes = info.MemoryUsedBytes,
                Gpu = info.Device.StartsWith("cuda", StringComparison.Ordinal) && info.State == DeploymentState.Running ? "1" : "0",
                MemoryRequest = info.MemoryRequestBytes is { } requested ? DeploymentResources.Quantity(requested) : null,
                MemoryRequestBytes = info.MemoryRequestBytes,
            },
            DeploymentId = info.DeploymentId,
            State = ModelKitJson.Name(info.State),
            Device = info.Device,
            Framework = model.Framework,
            FailureReason = info.FailureReason,
            FailureCode = info.FailureCode,
            Progress = info.Progress,
            CurrentStage = info.CurrentStage,
            Stages = [.. info.Stages.Select(s => new StageStatus(s.Name, ModelKitJson.Name(s.Status), s.StartedAt, s.Duration?.TotalMilliseconds, s.Message))],
            Queue = info.Queue,
            StartedAt = info.StartedAt,
            EnvironmentVariables = info.Environment,
        });
    }

    public static async Task<IResult> ScaleAsync(string model_id, HttpRequest request, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<ScaleBody>(request, cancellationToken);
        var replicas = body.Replicas ?? throw new InvalidInputException("'replicas' is required.");
        var current = await ActiveAsync(model_id, request, registry, deployments, "scale", cancellationToken);
        var info = await deployments.ScaleAsync(current.DeploymentId, replicas, cancellationToken: cancellationToken);
        return ModelKitJson.Json(new ScaleResponse
        {
            Message = $"Deployment '{info.DeploymentId}' scaled from {current.DesiredReplicas} to {info.DesiredReplicas} replica(s); {info.ReadyReplicas} serving now.",
            CurrentReplicas = info.ReadyReplicas,
            TargetReplicas = info.DesiredReplicas,
            PreviousReplicas = current.DesiredReplicas,
            DeploymentId = info.DeploymentId,
        });
    }

    // Metadata at the top level goes to the registry; "config" updates the model's deployment (a new version or device
    // is rolled in without failing requests in flight) and answers when the new settings serve.
    public static async Task<IResult> UpdateAsync(
        string model_id, HttpRequest request, IModelRegistry registry, IDeploymentManager deployments, IOptions<InferenceOptions> inference, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<UpdateModelBody>(request, cancellationToken);
        var model = await registry.UpdateModelAsync(model_id, new ModelUpdate
        {
            Name = body.Name,
            Description = body.Description,
            Task = body.ModelType,
            Tags = body.Tags,
            Metadata = body.Metadata,
            Favorite = body.Favorite,
            DefaultVersion = body.DefaultVersion,
        }, cancellationToken);

        if (body.Config is not { } config)
        {
            var active = deployments.FindByModel(model.Id);
            return ModelKitJson.Json(new DeployResponse
            {
                DeploymentId = active?.DeploymentId,
                Message = $"Model '{model.Id}' was updated.",
                ModelId = model.Id,
                Version = active?.Version ?? model.DefaultVersion,
                Status = DeploymentStatusNames.Of(active?.State),
                Device = active?.Device,
            });
        }

        var notes = new List<string>();
        var device = DeploymentResources.Device(config.Device, config.ResourceRequirements, inference.Value.DefaultDevice, notes);
        DeploymentResources.NoteNotApplied(config.ResourceRequirements, config.ScalingConfig, config.DockerImage, framework: null, model.Framework, notes);
        var current = await ActiveAsync(model.Id, request, registry, deployments, "update", cancellationToken);
        var info = await deployments.UpdateAsync(current.DeploymentId, new DeploymentUpdate
        {
            Version = config.Version,
            Device = device,
            Batching = config.Batching?.ToOptions(current.Batching),
            Replicas = config.ScalingConfig?.Replicas,
            MinReplicas = config.ScalingConfig?.MinReplicas,
            MaxReplicas = config.ScalingConfig?.MaxReplicas,
            TargetQueueDepth = config.ScalingConfig?.TargetQueueDepth,
            MemoryRequestBytes = ResourceQuantity.ParseBytes(config.ResourceRequirements?.Memory, "resource_requirements.memory"),
            DefaultPriority = Parse.Priority(config.Priority),
            Environment = config.EnvironmentVariables,
        }, cancellationToken);
        return ModelKitJson.Json(DeployResponse.Of(info, $"Deployment '{info.DeploymentId}' now serves version {info.Version} of model '{info.ModelId}' on {info.Device}.", notes));
    }

    // The model's active deployment; a clear 404 when the model is unknown (MODEL_NOT_FOUND) or has none (DEPLOYMENT_NOT_FOUND).
    private static async Task<DeploymentInfo> ActiveAsync(
        string modelId, HttpRequest request, IModelRegistry registry, IDeploymentManager deployments, string operation, CancellationToken cancellationToken)
    {
        if (deployments.FindByModel(modelId) is { } active) return active;
        var known = await registry.FindModelAsync(modelId, cancellationToken) is not null;
        if (known && deployments.FindLatestByModel(modelId) is { } latest)
        {
            throw new DeploymentNotRunningException(
                $"Model '{modelId}' has no active deployment to {operation}: deployment '{latest.DeploymentId}' is {DeploymentStatusNames.Of(latest.State)}. Deploy it again with POST {ModelsPath(request)}/deploy.");
        }

        throw NoDeployment(modelId, known, request);
    }

    private static ModelKitException NoDeployment(string modelId, bool known, HttpRequest request) => known
        ? new DeploymentNotFoundException($"Model '{DeploymentApiErrors.Bounded(modelId)}' is registered but has no deployment; deploy it with POST {ModelsPath(request)}/deploy.")
        : new ModelNotFoundException($"Model '{DeploymentApiErrors.Bounded(modelId)}' does not exist.");

    /// <summary>The models resource as the client addresses it: path base, mount prefix, <c>/api/v1/models</c>.</summary>
    internal static string ModelsPath(HttpRequest request) => $"{request.PathBase}{SurfaceMap.PrefixOf(request)}/api/v1/models";
}
