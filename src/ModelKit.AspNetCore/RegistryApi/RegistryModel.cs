using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using ModelKit.Deployments;
using ModelKit.Registry;

namespace ModelKit.AspNetCore;

/// <summary>
/// A model in seed 002's <c>data</c> (create, list item, details). <c>model_id</c> is ModelKit's string id; <c>uuid</c> is
/// derived from it (<see cref="ModelUuid"/>); <c>storage_path</c> is the registry's logical key, never a file path.
/// </summary>
internal sealed record RegistryModel
{
    public required string ModelId { get; init; }
    public Guid Uuid { get; init; }
    public required string Name { get; init; }
    public string? Description { get; init; }
    public required string Framework { get; init; }
    public string? ModelType { get; init; }
    public string? StoragePath { get; init; }
    public long TotalSize { get; init; }

    /// <summary>The default version's status: <c>uploading</c> (no version yet), <c>ready</c> or <c>failed</c>.</summary>
    public required string Status { get; init; }
    public string? DefaultVersion { get; init; }
    public int VersionCount { get; init; }
    public IReadOnlyList<string>? Tags { get; init; }
    public bool Favorite { get; init; }

    /// <summary>The <c>workspace_id</c> given at creation (kept as metadata; ModelKit has no workspaces of its own).</summary>
    public JsonNode? WorkspaceId { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>The model's latest deployment (seed 000), if any.</summary>
    public RegistryModelDeployment? Deployment { get; init; }

    /// <summary>The versions (details only).</summary>
    public IReadOnlyList<JsonObject>? Versions { get; init; }

    /// <summary>Where to upload the model's files (create only).</summary>
    public string? UploadUrl { get; init; }

    /// <summary>The metadata key <c>workspace_id</c> is kept under.</summary>
    public const string WorkspaceKey = "workspace_id";

    /// <summary>The list item of <paramref name="model"/>; <paramref name="details"/> adds description, tags, storage path and versions.</summary>
    public static RegistryModel From(ModelInfo model, DeploymentInfo? deployment, bool details) => new()
    {
        ModelId = model.Id,
        Uuid = ModelUuid.Of(model.Id),
        Name = model.Name,
        Description = model.Description,
        Framework = model.Framework,
        ModelType = model.Task,
        StoragePath = details ? "models/" + model.Id : null,
        TotalSize = model.Versions.Sum(v => v.SizeBytes),
        Status = ModelKitJson.Name(model.Status),
        DefaultVersion = model.DefaultVersion,
        VersionCount = model.Versions.Count,
        Tags = details ? model.Tags : null,
        Favorite = model.Favorite,
        WorkspaceId = model.Metadata.TryGetValue(WorkspaceKey, out var workspace) ? Workspace(workspace) : null,
        CreatedAt = model.CreatedAt,
        UpdatedAt = model.UpdatedAt,
        Deployment = deployment is null ? null : new RegistryModelDeployment(deployment.DeploymentId, ModelKitJson.Name(deployment.State), deployment.Version, deployment.ReadyReplicas),
        Versions = details ? [.. model.Versions.Select(ModelVersionJson.Of)] : null,
    };

    // Kept as text; a whole number comes back as a number, as the seed's example sends it.
    private static JsonValue Workspace(string text) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) ? JsonValue.Create(number) : JsonValue.Create(text);
}

/// <summary>A model's deployment as seed 002's model shows it (ModelKit's state names).</summary>
internal sealed record RegistryModelDeployment(string DeploymentId, string Status, string Version, int Replicas);
