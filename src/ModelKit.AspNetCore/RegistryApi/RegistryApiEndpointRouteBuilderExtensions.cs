using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;
using static Microsoft.AspNetCore.Builder.ModelKitEndpointRouteBuilderExtensions;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 002, the registry API: create, list, get, upload and delete models at <c>/api/v1/models…</c>.</summary>
public static class RegistryApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "002";

    /// <summary>Maps seed 002 under <paramref name="prefix"/> (default: the seed's own <c>/api/v1/models…</c>).</summary>
    public static RouteGroupBuilder MapRegistryApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, prefix).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapRegistryApi()", "Seed 002 · registry API", prefix, ModelKitProblems.Writer, typeof(Microsoft.AspNetCore.Mvc.ProblemDetails), "/api/v1");
        var group = surface.Group;
        surface.Secure(group.MapPost("/api/v1/models", CreateModelAsync), ModelKitScopes.Manage).WithSummary("Create a model (then upload a version)").Accepts<CreateModelBody>("application/json");
        surface.Secure(group.MapGet("/api/v1/models", ListModelsAsync), ModelKitScopes.Read).WithSummary("List registered models (paged, filtered)");
        surface.Secure(group.MapGet("/api/v1/models/{model_id}", GetModelAsync), ModelKitScopes.Read).WithSummary("A model with its versions and deployment");
        surface.Secure(group.MapPost("/api/v1/models/{model_id}/upload", UploadAsync), ModelKitScopes.Manage).WithSummary("Upload a version (multipart, streamed)");
        surface.Secure(group.MapDelete("/api/v1/models/{model_id}", DeleteModelAsync), ModelKitScopes.Manage).WithSummary("Delete a model (force stops its deployment)");
        surface.Secure(group.MapGet("/api/v1/models/{model_id}/versions", ListVersionsAsync), ModelKitScopes.Read).WithSummary("A model's versions");
        surface.Secure(group.MapDelete("/api/v1/models/{model_id}/versions/{version}", DeleteVersionAsync), ModelKitScopes.Manage).WithSummary("Delete one version (refused while deployed unless force)");
        return surface;
    }
}
