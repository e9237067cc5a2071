using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 002, the registry API: create, list, get, upload and delete models at <c>/api/v1/models…</c>.</summary>
public static class RegistryApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "002";

    /// <summary>
    /// Maps seed 002 under <paramref name="prefix"/> (default: the seed's own <c>/api/v1/models…</c>): answers are
    /// <c>{"code": 0, "message", "data"}</c>, errors the same envelope with the HTTP status as <c>code</c> and the error code
    /// as <c>error</c>. List, get and delete are left to seed 000 when it was mapped at the same prefix before and took them.
    /// </summary>
    public static RouteGroupBuilder MapRegistryApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, prefix).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix)
    {
        var errors = RegistryApiErrors.Writer;
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapRegistryApi()", "Seed 002 · registry API", prefix, errors, typeof(RegistryErrorResponse), "/api/v1");
        var group = surface.Group.DecodeModelIds(); // org/name ids as acme%2Ftiny
        group.WithMetadata(new SurfaceShapeMetadata(errors));
        surface.Secure(group.MapPost("/api/v1/models", RegistryApiHandlers.CreateAsync), ModelKitScopes.Manage)
            .WithName(OperationId(surface, "Seed002_CreateModel")).WithSummary("Create a model (then upload its file)").Accepts<CreateModelBody>("application/json")
            .Produces<RegistryEnvelope<RegistryModel>>(StatusCodes.Status201Created);
        if (ModelsResource.At(endpoints, surface.Prefix).Add(endpoints, SurfaceId, errors, wantsReads: true))
        {
            surface.Secure(group.MapGet("/api/v1/models", RegistryApiHandlers.ListAsync), ModelKitScopes.Read)
                .WithName(OperationId(surface, "Seed002_ListModels")).WithSummary("List models (page, page_size, framework; also status, model_type, limit, offset, q, favorite)")
                .Produces<RegistryEnvelope<RegistryModelPage>>();
            surface.Secure(group.MapGet("/api/v1/models/{model_id}", RegistryApiHandlers.GetAsync), ModelKitScopes.Read)
                .WithName(OperationId(surface, "Seed002_GetModel")).WithSummary("A model with its versions and deployment")
                .Produces<RegistryEnvelope<RegistryModel>>();
            surface.Secure(group.MapDelete("/api/v1/models/{model_id}", RegistryApiHandlers.DeleteAsync), ModelKitScopes.Manage)
                .WithName(OperationId(surface, "Seed002_DeleteModel")).WithSummary("Delete a model (force=true stops its deployment first)")
                .Produces<RegistryEnvelope<object>>();
        }

        surface.Secure(group.MapPost("/api/v1/models/{model_id}/upload", RegistryApiHandlers.UploadAsync), ModelKitScopes.Manage)
            .WithName(OperationId(surface, "Seed002_Upload")).WithSummary("Upload the model's file as a new version (multipart/form-data, streamed)")
            .Accepts<IFormFile>("multipart/form-data").Produces<RegistryEnvelope<JsonObject>>();
        surface.Secure(group.MapGet("/api/v1/models/{model_id}/versions", RegistryApiHandlers.VersionsAsync), ModelKitScopes.Read)
            .WithName(OperationId(surface, "Seed002_ListVersions")).WithSummary("A model's versions").Produces<RegistryEnvelope<RegistryVersions>>();
        surface.Secure(group.MapDelete("/api/v1/models/{model_id}/versions/{version}", RegistryApiHandlers.DeleteVersionAsync), ModelKitScopes.Manage)
            .WithName(OperationId(surface, "Seed002_DeleteVersion")).WithSummary("Delete one version (refused while deployed unless force)").Produces<RegistryEnvelope<RegistryVersions>>();
        return surface;
    }

    // Operation ids are unique per app: at a prefix other than the root they name it (Seed000_Deploy_v2_tenant).
    private static string OperationId(SurfaceMap surface, string name) =>
        surface.Prefix.Length == 0 ? name : name + "_" + surface.Prefix.Trim('/').Replace('/', '_');
}
