using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using ModelKit;
using ModelKit.AspNetCore;
using ModelKit.Deployments;
using ModelKit.Registry;
using ModelKit.Scheduling;

namespace Microsoft.AspNetCore.Builder;

// Seed 004's deployments resource and seed 001's deployment progress.
public static partial class ModelKitEndpointRouteBuilderExtensions
{
    internal static async Task<IResult> StartDeploymentAsync(HttpRequest request, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<StartDeploymentBody>(request, cancellationToken);
        if (string.IsNullOrWhiteSpace(body.ModelId)) throw new InvalidInputException("'model_id' is required.");
        if (body.ModelSource is { } source && !source.Equals("registry", StringComparison.OrdinalIgnoreCase) && !source.Equals("local", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException($"'model_source' '{source}' is not available: deployments serve models from the registry (register or upload the model first).");
        }

        var info = await deployments.DeployAsync(new DeploymentSpec
        {
            DeploymentId = body.DeploymentId,
            ModelId = body.ModelId,
            Version = body.Version,
            Device = body.Device,
            Replicas = body.Replicas ?? Math.Max(1, body.MinReplicas ?? 1),
            MinReplicas = body.MinReplicas,
            MaxReplicas = body.MaxReplicas,
            MemoryRequestBytes = ResourceQuantity.ParseBytes(body.Memory, "resource_requirements.memory"),
            DefaultPriority = Parse.Priority(body.Priority) ?? RequestPriority.Normal,
            Batching = body.Batching?.ToOptions(),
        }, cancellationToken);
        var json = DeploymentJson(info);
        json["progress_url"] = $"{request.PathBase}{Prefix(request)}/api/deployments/{info.DeploymentId}";
        return ModelKitJson.Json(json, StatusCodes.Status202Accepted);
    }

    internal static IResult ListDeployments(string? status, IDeploymentManager deployments)
    {
        DeploymentState? state = null;
        if (status is not null)
        {
            state = Enum.TryParse<DeploymentState>(status, ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                ? parsed
                : throw new InvalidInputException($"'status' must be pending, loading, running, stopping, stopped or failed (was '{status}').");
        }

        var list = deployments.ListDeployments(state);
        return ModelKitJson.Json(new { deployments = list.Select(DeploymentJson), total = list.Count });
    }

    internal static IResult GetDeployment(string deployment_id, IDeploymentManager deployments) =>
        ModelKitJson.Json(DeploymentJson(deployments.GetDeployment(deployment_id)));

    internal static async Task<IResult> StopDeploymentAsync(string deployment_id, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        ModelKitJson.Json(DeploymentJson(await deployments.StopAsync(deployment_id, cancellationToken)));

    internal static async Task<IResult> RestartDeploymentAsync(string deployment_id, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        ModelKitJson.Json(DeploymentJson(await deployments.RestartAsync(deployment_id, cancellationToken)), StatusCodes.Status202Accepted);

    internal static async Task<IResult> DeleteDeploymentAsync(string deployment_id, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        await deployments.DeleteAsync(deployment_id, cancellationToken);
        return ModelKitJson.Json(new { message = $"Deployment '{deployment_id}' was stopped and deleted." });
    }

    internal static IResult DeploymentLogs(string deployment_id, string? lines, IDeploymentManager deployments) =>
        LogLines(deployment_id, Parse.Int(lines, "lines"), deployments);

    internal static IResult LogLines(string deployment_id, int? lines, IDeploymentManager deployments)
    {
        if (lines is < 1 or > 10_000) throw new InvalidInputException($"'lines' must be 1..10000 (was {lines}).");
        var logs = deployments.GetLogs(deployment_id, lines ?? 100);
        return ModelKitJson.Json(new
        {
            deployment_id,
            logs = logs.Select(l => new { timestamp = l.Timestamp, level = ModelKitJson.Name(l.Level), message = l.Message }),
        });
    }

    internal static IResult DeploymentHealth(string deployment_id, IDeploymentManager deployments)
    {
        var info = deployments.GetDeployment(deployment_id);
        var healthy = info.State == DeploymentState.Running && info.ReadyReplicas > 0;
        return ModelKitJson.Json(new
        {
            deployment_id,
            status = healthy ? "healthy" : "unhealthy",
            state = info.State,
            ready_replicas = info.ReadyReplicas,
            failure_reason = info.FailureReason,
            queue = info.Queue,
        }, healthy ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
    }

    internal static async Task<IResult> DeploymentModelInfoAsync(string deployment_id, IDeploymentManager deployments, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var info = deployments.GetDeployment(deployment_id);
        var model = await registry.GetModelAsync(info.ModelId, cancellationToken);
        var version = model.FindVersion(info.Version) ?? throw new ModelNotFoundException($"Version {info.Version} of model '{info.ModelId}' is no longer registered.");
        var json = VersionJson(version);
        json["deployment_id"] = info.DeploymentId;
        json["model_id"] = model.Id;
        json["name"] = model.Name;
        json["framework"] = model.Framework;
        json["model_type"] = model.Task;
        json["device"] = info.Device;
        json["memory_bytes"] = info.MemoryUsedBytes;
        return ModelKitJson.Json(json);
    }

    // Seed 001's view: status, percent, current stage, stages with durations, and the log.
    internal static IResult DeploymentProgress(string deployment_id, IDeploymentManager deployments)
    {
        var info = deployments.GetDeployment(deployment_id);
        var json = DeploymentJson(info);
        json["logs"] = new JsonArray([.. deployments.GetLogs(deployment_id, 50).Select(l => (JsonNode)new JsonObject
        {
            ["timestamp"] = l.Timestamp,
            ["level"] = ModelKitJson.Name(l.Level),
            ["message"] = l.Message,
        })]);
        return ModelKitJson.Json(json);
    }

    internal static JsonObject DeploymentJson(DeploymentInfo info) => new()
    {
        ["deployment_id"] = info.DeploymentId,
        ["model_id"] = info.ModelId,
        ["version"] = info.Version,
        ["updating_to_version"] = info.UpdatingToVersion,
        ["status"] = ModelKitJson.Name(info.State),
        ["failure_reason"] = info.FailureReason,
        ["failure_code"] = info.FailureCode,
        ["device"] = info.Device,
        ["replicas"] = new JsonObject
        {
            ["desired"] = info.DesiredReplicas,
            ["ready"] = info.ReadyReplicas,
            ["min"] = info.MinReplicas,
            ["max"] = info.MaxReplicas,
            ["autoscaling"] = info.Autoscaling,
        },
        ["memory_request_bytes"] = info.MemoryRequestBytes,
        ["memory_bytes"] = info.MemoryUsedBytes,
        ["pinned"] = info.Pinned,
        ["progress"] = info.Progress,
        ["current_stage"] = info.CurrentStage,
        ["stages"] = new JsonArray([.. info.Stages.Select(s => (JsonNode)new JsonObject
        {
            ["name"] = s.Name,
            ["status"] = ModelKitJson.Name(s.Status),
            ["started_at"] = s.StartedAt,
            ["duration_ms"] = s.Duration?.TotalMilliseconds,
            ["message"] = s.Message,
        })]),
        ["created_at"] = info.CreatedAt,
        ["updated_at"] = info.UpdatedAt,
        ["started_at"] = info.StartedAt,
    };
}
