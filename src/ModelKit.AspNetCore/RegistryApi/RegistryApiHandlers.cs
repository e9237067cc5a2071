using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using ModelKit.Deployments;
using ModelKit.Registry;

namespace ModelKit.AspNetCore;

/// <summary>Seed 002's operations in its envelope: create, list, get, upload, delete, and ModelKit's versions resource.</summary>
internal static class RegistryApiHandlers
{
    /// <summary>Seed 002's message for reads.</summary>
    private const string Success = "success";

    public static async Task<IResult> CreateAsync(HttpRequest request, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<CreateModelBody>(request, cancellationToken);
        if (string.IsNullOrWhiteSpace(body.Name)) throw new InvalidInputException("'name' is required.");
        var metadata = body.Metadata is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(body.Metadata, StringComparer.Ordinal);
        if (body.WorkspaceId is { } workspace) metadata[RegistryModel.WorkspaceKey] = WorkspaceText(workspace);
        var model = await registry.CreateModelAsync(new ModelDefinition
        {
            Id = body.ModelId,
            Name = body.Name,
            Description = body.Description,
            Framework = body.Framework ?? "onnx",
            Task = body.ModelType,
            Tags = body.Tags ?? [],
            Metadata = metadata,
        }, cancellationToken);
        var data = RegistryModel.From(model, null, details: true) with
        {
            UploadUrl = $"{DeploymentApiHandlers.ModelsPath(request)}/{ModelIdRoute.ToSegment(model.Id)}/upload",
        };
        return ModelKitJson.Json(new RegistryEnvelope<RegistryModel> { Message = "Model created", Data = data }, StatusCodes.Status201Created);
    }

    public static async Task<IResult> ListAsync(
        IModelRegistry registry, IDeploymentManager deployments, string? page, string? page_size, string? limit, string? offset, string? framework, string? model_type,
        string? status, string? q, string? favorite, CancellationToken cancellationToken)
    {
        var query = ModelsListQuery.From(page, page_size, limit, offset, framework, model_type, status, q, favorite, defaultSize: 20, ModelsResourceShape.Registry);
        var result = await ModelsListing.QueryAsync(registry, deployments, query, cancellationToken);
        var (skip, size) = (query.Offset, query.Limit);
        var data = new RegistryModelPage(
            [.. result.Items.Select(i => RegistryModel.From(i.Model, i.Deployment, details: false))],
            new RegistryPagination((skip / size) + 1, size, result.Total, (result.Total + size - 1) / size, skip));
        return ModelKitJson.Json(new RegistryEnvelope<RegistryModelPage> { Message = Success, Data = data });
    }

    public static async Task<IResult> GetAsync(string model_id, IModelRegistry registry, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var model = await registry.GetModelAsync(model_id, cancellationToken);
        return ModelKitJson.Json(new RegistryEnvelope<RegistryModel> { Message = Success, Data = RegistryModel.From(model, deployments.FindLatestByModel(model.Id), details: true) });
    }

    public static async Task<IResult> UploadAsync(string model_id, string? version, HttpContext context, IModelRegistry registry, IOptions<ModelKitOptions> options)
    {
        var stored = await ModelUploads.ReceiveAsync(model_id, version, context, registry, options);
        var data = ModelVersionJson.Of(stored);
        data["model_id"] = stored.ModelId;
        return ModelKitJson.Json(new RegistryEnvelope<JsonObject> { Message = $"File uploaded: version {stored.Version} of model '{stored.ModelId}' is stored and ready", Data = data });
    }

    public static async Task<IResult> DeleteAsync(string model_id, string? force, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var forced = Parse.Bool(force, "force") ?? false;
        await registry.DeleteModelAsync(model_id, forced, cancellationToken);
        return ModelKitJson.Json(new RegistryEnvelope<object> { Message = forced ? "Model deleted (forced: the deployment serving it is being stopped)" : "Model deleted" });
    }

    public static async Task<IResult> VersionsAsync(string model_id, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var model = await registry.GetModelAsync(model_id, cancellationToken);
        return ModelKitJson.Json(new RegistryEnvelope<RegistryVersions> { Message = Success, Data = Versions(model) });
    }

    public static async Task<IResult> DeleteVersionAsync(string model_id, string version, string? force, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var forced = Parse.Bool(force, "force") ?? false;
        await registry.DeleteVersionAsync(model_id, version, forced, cancellationToken);
        var model = await registry.GetModelAsync(model_id, cancellationToken);
        return ModelKitJson.Json(new RegistryEnvelope<RegistryVersions>
        {
            Message = $"Version {version} deleted{(forced ? " (forced: a deployment serving it is being stopped)" : string.Empty)}",
            Data = Versions(model),
        });
    }

    private static RegistryVersions Versions(ModelInfo model) =>
        new(model.Id, model.DefaultVersion, [.. model.Versions.Select(ModelVersionJson.Of)]);

    // workspace_id: a number (as the seed sends it) or a short string, kept as text in the model's metadata.
    private static string WorkspaceText(JsonNode workspace)
    {
        var text = workspace.GetValueKind() switch
        {
            JsonValueKind.Number or JsonValueKind.String => workspace.GetValueKind() == JsonValueKind.String ? workspace.GetValue<string>() : workspace.ToJsonString(),
            _ => throw new InvalidInputException("'workspace_id' must be a number or a string."),
        };
        return text.Length <= 64 ? text : throw new InvalidInputException("'workspace_id' must be at most 64 characters.");
    }
}
