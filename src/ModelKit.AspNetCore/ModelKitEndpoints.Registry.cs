using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using ModelKit;
using ModelKit.AspNetCore;
using ModelKit.Deployments;
using ModelKit.Registry;

namespace Microsoft.AspNetCore.Builder;

// Registry endpoints (seed 002) and seed 000's PUT/DELETE on a model.
public static partial class ModelKitEndpointRouteBuilderExtensions
{
    internal static async Task<IResult> CreateModelAsync(HttpRequest request, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<CreateModelBody>(request, cancellationToken);
        if (string.IsNullOrWhiteSpace(body.Name)) throw new InvalidInputException("'name' is required.");
        var model = await registry.CreateModelAsync(new ModelDefinition
        {
            Id = body.ModelId,
            Name = body.Name,
            Description = body.Description,
            Framework = body.Framework ?? "onnx",
            Task = body.ModelType,
            Tags = body.Tags ?? [],
            Metadata = body.Metadata ?? [],
        }, cancellationToken);
        var summary = ModelSummary(model, null);
        summary["upload_url"] = $"{request.PathBase}{Prefix(request)}/api/v1/models/{model.Id}/upload";
        return ModelKitJson.Json(summary, StatusCodes.Status201Created);
    }

    // Metadata at the top level goes to the registry; seed 000's "config" updates the model's deployment (a new
    // version, device or batching is rolled in without failing requests in flight).
    internal static async Task<IResult> UpdateModelAsync(string model_id, HttpRequest request, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
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

        DeploymentInfo? deployment = null;
        if (body.Config is { } config)
        {
            var current = deployments.FindByModel(model.Id) ?? throw new DeploymentNotFoundException($"Model '{model.Id}' has no active deployment to update; deploy it first.");
            deployment = await deployments.UpdateAsync(current.DeploymentId, new DeploymentUpdate
            {
                Version = config.Version,
                Device = ResourceQuantity.Device(config.Device, config.ResourceRequirements?.Gpu),
                Batching = config.Batching?.ToOptions(current.Batching),
                Replicas = config.ScalingConfig?.Replicas,
                MinReplicas = config.ScalingConfig?.MinReplicas,
                MaxReplicas = config.ScalingConfig?.MaxReplicas,
                TargetQueueDepth = config.ScalingConfig?.TargetQueueDepth,
                MemoryRequestBytes = ResourceQuantity.ParseBytes(config.ResourceRequirements?.Memory, "resource_requirements.memory"),
                DefaultPriority = Parse.Priority(config.Priority),
                Environment = config.EnvironmentVariables,
            }, cancellationToken);
        }

        var summary = ModelSummary(model, deployment ?? deployments.FindByModel(model.Id));
        if (deployment is not null)
        {
            summary["deployment_id"] = deployment.DeploymentId;
            summary["message"] = $"Deployment '{deployment.DeploymentId}' now serves version {deployment.Version}.";
        }

        return ModelKitJson.Json(summary);
    }

    internal static async Task<IResult> DeleteModelAsync(string model_id, string? force, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var forced = Parse.Bool(force, "force");
        await registry.DeleteModelAsync(model_id, forced ?? false, cancellationToken);
        return ModelKitJson.Json(new { message = $"Model '{model_id}' was deleted{(forced == true ? " (forced: a deployment serving it is stopped)" : string.Empty)}." });
    }

    internal static async Task<IResult> DeleteVersionAsync(string model_id, string version, string? force, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var forced = Parse.Bool(force, "force");
        await registry.DeleteVersionAsync(model_id, version, forced ?? false, cancellationToken);
        var model = await registry.GetModelAsync(model_id, cancellationToken);
        return ModelKitJson.Json(new
        {
            message = $"Version {version} of model '{model_id}' was deleted{(forced == true ? " (forced: a deployment serving it is stopped)" : string.Empty)}.",
            model_id = model.Id,
            default_version = model.DefaultVersion,
            versions = model.Versions.Select(v => v.Version),
        });
    }

    internal static async Task<IResult> ListVersionsAsync(string model_id, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var model = await registry.GetModelAsync(model_id, cancellationToken);
        return ModelKitJson.Json(new { model_id = model.Id, default_version = model.DefaultVersion, versions = model.Versions.Select(VersionJson) });
    }

    // multipart/form-data, streamed section by section straight into the registry (which hashes it to a temp
    // file): nothing is buffered whole. The version comes from ?version= or a "version" field before the file.
    internal static async Task<IResult> UploadAsync(string model_id, string? version, HttpContext context, IModelRegistry registry, IOptions<ModelKitOptions> options)
    {
        var stored = await ReceiveUploadAsync(model_id, version, context, registry, options);
        var json = VersionJson(stored);
        json["model_id"] = model_id;
        json["message"] = $"Version {stored.Version} of model '{model_id}' is stored and ready.";
        return ModelKitJson.Json(json, StatusCodes.Status201Created);
    }

    /// <summary>Reads a multipart upload into a new version of <paramref name="model_id"/> (stored and validated, or nothing stored).</summary>
    internal static async Task<ModelVersionInfo> ReceiveUploadAsync(string model_id, string? version, HttpContext context, IModelRegistry registry, IOptions<ModelKitOptions> options)
    {
        var request = context.Request;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.Value.MaxArtifactBytes + (1 << 20); // the file plus multipart framing
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType) || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException("The upload must be multipart/form-data with the model file in a part named 'file'.");
        }

        var boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary)) throw new InvalidInputException("The multipart boundary is missing from Content-Type.");
        var reader = new MultipartReader(boundary, request.Body);
        while (await NextSectionAsync(reader, context.RequestAborted) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
            if (disposition.IsFormDisposition() && disposition.Name.Value == "version")
            {
                version ??= await ReadFieldAsync(section, "version", 128, context.RequestAborted);
                continue;
            }

            if (!disposition.IsFileDisposition()) continue;
            var fileName = HeaderUtilities.RemoveQuotes(disposition.FileName.HasValue ? disposition.FileName : disposition.FileNameStar).Value;
            if (string.IsNullOrEmpty(fileName)) throw new InvalidInputException("The file part has no file name.");
            var body = new ClientBodyStream(section.Body);
            return await registry.AddVersionAsync(model_id, string.IsNullOrEmpty(version) ? null : version, body, fileName, context.RequestAborted);
        }

        throw new InvalidInputException("The upload has no file part (expected a part named 'file' with a file name).");
    }

    internal static async Task<MultipartSection?> NextSectionAsync(MultipartReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadNextSectionAsync(cancellationToken);
        }
        catch (Exception ex) when ((ex is IOException or InvalidDataException) && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidInputException(ClientBodyStream.Describe(ex));
        }
    }

    // A small form field, read up to its limit: a longer one is refused without being buffered or echoed.
    internal static async Task<string> ReadFieldAsync(MultipartSection section, string name, int maxChars, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(new ClientBodyStream(section.Body));
        var buffer = new char[maxChars + 1];
        var read = 0;
        while (read < buffer.Length && await reader.ReadAsync(buffer.AsMemory(read), cancellationToken) is > 0 and var n) read += n;
        if (read > maxChars) throw new InvalidInputException($"The '{name}' field is longer than {maxChars} characters.");
        return new string(buffer, 0, read).Trim();
    }

    internal static JsonObject VersionJson(ModelVersionInfo v) => new()
    {
        ["version"] = v.Version,
        ["status"] = ModelKitJson.Name(v.Status),
        ["size_bytes"] = v.SizeBytes,
        ["sha256"] = v.Sha256,
        ["created_at"] = v.CreatedAt,
        ["error"] = v.Error,
        ["files"] = new JsonArray([.. v.Files.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["size_bytes"] = f.SizeBytes, ["sha256"] = f.Sha256 })]),
        ["inputs"] = Specs(v.Signature?.Inputs),
        ["outputs"] = Specs(v.Signature?.Outputs),
    };
}
