using System.Globalization;
using Microsoft.AspNetCore.Http;
using ModelKit.Deployments;
using ModelKit.Downloads;
using ModelKit.Registry;
using ModelKit.Scheduling;

namespace ModelKit.AspNetCore;

/// <summary>Seed 004's deployments (chat and completions: <see cref="LlmChatEndpoints"/>).</summary>
internal static class LlmDeploymentEndpoints
{
    public static async Task<IResult> StartAsync(
        HttpContext context, IDeploymentManager deployments, IModelRegistry registry, ModelKit.Caching.IModelCache cache, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<StartDeploymentBody>(context.Request, cancellationToken);
        if (string.IsNullOrWhiteSpace(body.ModelId)) throw new InvalidInputException("'model_id' is required.");
        var modelId = body.ModelId;
        var (host, port) = Address(context.Request);
        var notes = new List<string>();
        DownloadRequest? download = null;
        if (body.ModelSource is { } source && source.Equals("huggingface", StringComparison.OrdinalIgnoreCase))
        {
            // A model the registry has (downloaded earlier) is deployed from there; any other is downloaded first, the
            // deployment showing the download as its first stage.
            if (await registry.FindModelAsync(modelId, cancellationToken) is null)
            {
                download = new DownloadRequest { Source = "huggingface", ModelId = modelId };
                notes.Add("model_source 'huggingface': the model is downloaded from the hub first (the 'download' stage, download_task_id), then deployed.");
            }
            else
            {
                notes.Add("model_source 'huggingface': the model is served from its copy in the registry.");
            }
        }
        else if (LlmManager.SourceError(context, body.ModelSource, "model_source", "fetching the model") is { } refused)
        {
            return refused;
        }

        if (body.Port is { } asked && asked.ToJsonString() != port.ToString(CultureInfo.InvariantCulture))
        {
            notes.Add($"port {Short(asked.ToJsonString())} is not applied: ModelKit serves deployments in-process, at this server's address ({host}:{port}).");
        }

        // vLLM's settings map onto the generation engine: max_model_len caps the context, gpu_memory_utilization is the share
        // of the model cache's memory limit the deployment's KV cache may take (ModelKit runs on the CPU as on a GPU).
        var maxModelLen = body.MaxModelLen is null ? (int?)null
            : body.MaxModelLen.GetValueKind() == System.Text.Json.JsonValueKind.Number && body.MaxModelLen.AsValue().TryGetValue<int>(out var length) && length >= 2
                ? length : throw new InvalidInputException($"'max_model_len' must be a whole number of tokens, 2 or more; got {Short(body.MaxModelLen.ToJsonString())}.");
        long? kvBytes = null;
        if (body.GpuMemoryUtilization is not null)
        {
            if (body.GpuMemoryUtilization.GetValueKind() != System.Text.Json.JsonValueKind.Number
                || !body.GpuMemoryUtilization.AsValue().TryGetValue<double>(out var share) || share is not (> 0 and <= 1))
            {
                throw new InvalidInputException($"'gpu_memory_utilization' must be a number above 0 and at most 1; got {Short(body.GpuMemoryUtilization.ToJsonString())}.");
            }

            var limit = cache.GetStats().MemoryLimitBytes;
            kvBytes = Math.Max(1L << 20, (long)(share * limit));
            notes.Add($"gpu_memory_utilization {share.ToString(CultureInfo.InvariantCulture)}: the deployment's generations may hold {kvBytes / (1024.0 * 1024 * 1024):F2} GiB of KV cache "
                + $"(that share of the model cache's {limit / (1024.0 * 1024 * 1024):F2} GiB limit).");
        }

        var info = await deployments.DeployAsync(new DeploymentSpec
        {
            DeploymentId = body.DeploymentId,
            ModelId = modelId,
            Version = body.Version,
            Device = body.Device,
            Replicas = body.Replicas ?? Math.Max(1, body.MinReplicas ?? 1),
            MinReplicas = body.MinReplicas,
            MaxReplicas = body.MaxReplicas,
            MemoryRequestBytes = ResourceQuantity.ParseBytes(body.Memory, "memory"),
            DefaultPriority = Parse.Priority(body.Priority) ?? RequestPriority.Normal,
            Batching = body.Batching?.ToOptions(),
            Generation = maxModelLen is null && kvBytes is null ? null : new GenerationLimits { MaxContextLength = maxModelLen, KvCacheBytes = kvBytes },
            Source = download,
        }, cancellationToken);
        return LlmManager.Ok(DeploymentOf(info, context.Request) with { Notes = notes }, "Deployment started");
    }

    public static IResult List(HttpContext context, string? status, IDeploymentManager deployments)
    {
        var states = status is null ? null : LlmVocabulary.StatesNamed(status);
        var list = deployments.ListDeployments().Where(d => states is null || states.Contains(d.State)).Select(d => DeploymentOf(d, context.Request)).ToList();
        return LlmManager.Ok(new LlmDeploymentList(list, list.Count));
    }

    public static IResult Get(string deployment_id, HttpContext context, IDeploymentManager deployments) =>
        LlmManager.Ok(DeploymentOf(deployments.GetDeployment(deployment_id), context.Request));

    public static async Task<IResult> StopAsync(string deployment_id, HttpContext context, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        LlmManager.Ok(DeploymentOf(await deployments.StopAsync(deployment_id, cancellationToken), context.Request), "Deployment stopped");

    public static async Task<IResult> RestartAsync(string deployment_id, HttpContext context, IDeploymentManager deployments, CancellationToken cancellationToken) =>
        LlmManager.Ok(DeploymentOf(await deployments.RestartAsync(deployment_id, cancellationToken), context.Request), "Deployment restarting");

    public static async Task<IResult> DeleteAsync(string deployment_id, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        await deployments.DeleteAsync(deployment_id, cancellationToken);
        return LlmManager.Ok(new LlmDeploymentDeleted(deployment_id, true), "Deployment stopped and deleted");
    }

    public static async Task<IResult> LogsAsync(string deployment_id, string? lines, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var count = Parse.Int(lines, "lines") ?? 100;
        if (count is < 1 or > 10_000) throw new InvalidInputException($"'lines' must be 1..10000 (was {count}).");
        var logs = await deployments.GetLogsAsync(deployment_id, count, cancellationToken);
        return LlmManager.Ok(new LlmDeploymentLogs(deployment_id, [.. logs.Select(l => new LlmLogLine(l.Timestamp, GatewayVocabulary.Level(l.Level), l.Message))]));
    }

    // Healthy while running with a ready replica; otherwise 503 DEPLOYMENT_NOT_RUNNING (seed 004's code) with what was found.
    public static IResult Health(string deployment_id, IDeploymentManager deployments)
    {
        var info = deployments.GetDeployment(deployment_id);
        var healthy = info.State == DeploymentState.Running && info.ReadyReplicas > 0;
        var data = new LlmDeploymentHealth(deployment_id, healthy ? "healthy" : "unhealthy", LlmVocabulary.DeploymentStatus(info.State), info.ReadyReplicas,
            info.FailureReason, info.Queue?.QueueLength ?? 0, info.Queue is { Succeeded: > 0 } q ? Math.Round(q.AverageLatency.TotalMilliseconds, 3) : null);
        return healthy
            ? LlmManager.Ok(data, "healthy")
            : LlmManager.Failure(StatusCodes.Status503ServiceUnavailable, ModelKitErrorCodes.DeploymentNotRunning,
                $"Deployment '{deployment_id}' is {LlmVocabulary.DeploymentStatus(info.State)}, not serving.", data);
    }

    public static async Task<IResult> ModelInfoAsync(string deployment_id, IDeploymentManager deployments, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var info = deployments.GetDeployment(deployment_id);
        var model = await registry.GetModelAsync(info.ModelId, cancellationToken);
        var version = model.FindVersion(info.Version) ?? throw new ModelNotFoundException($"Version {info.Version} of model '{info.ModelId}' is no longer registered.");
        return LlmManager.Ok(new LlmDeploymentModelInfo
        {
            DeploymentId = info.DeploymentId,
            ModelId = model.Id,
            Name = model.Name,
            Version = version.Version,
            Framework = model.Framework,
            ModelType = model.Task,
            Device = info.Device,
            MemoryBytes = info.MemoryUsedBytes,
            SizeBytes = version.SizeBytes,
            Sha256 = version.Sha256,
            Inputs = LlmCatalogueEndpoints.Tensors(version.Signature?.Inputs),
            Outputs = LlmCatalogueEndpoints.Tensors(version.Signature?.Outputs),
            CreatedAt = version.CreatedAt,
        });
    }

    public static LlmDeployment DeploymentOf(DeploymentInfo info, HttpRequest request)
    {
        var (host, port) = Address(request);
        return new LlmDeployment
        {
            DeploymentId = info.DeploymentId,
            ModelId = info.ModelId,
            ModelSource = info.DownloadSource ?? "local",
            DownloadTaskId = info.DownloadTaskId,
            Status = LlmVocabulary.DeploymentStatus(info.State),
            Host = host,
            Port = port,
            CreatedAt = info.CreatedAt,
            StartedAt = info.StartedAt,
            UpdatedAt = info.UpdatedAt,
            Version = info.Version,
            Device = info.Device,
            Replicas = new LlmReplicas(info.DesiredReplicas, info.ReadyReplicas, info.MinReplicas, info.MaxReplicas),
            Progress = info.Progress,
            CurrentStage = info.CurrentStage,
            Stages = [.. info.Stages.Select(s => new LlmStage(s.Name, ModelKitJson.Name(s.Status), s.StartedAt, s.Duration?.TotalMilliseconds, s.Message, s.Progress))],
            FailureReason = info.FailureReason,
            FailureCode = info.FailureCode,
            MemoryBytes = info.MemoryUsedBytes,
            MaxModelLen = info.Generation?.MaxContextLength,
        };
    }

    // Where the deployment answers: this server, at the address the request reached.
    private static (string Host, int Port) Address(HttpRequest request) =>
        (request.Host.Host is { Length: > 0 } host ? host : "localhost", request.Host.Port ?? (request.IsHttps ? 443 : 80));

    private static string Short(string text) => ClientText.Quote(text, 64);
}
