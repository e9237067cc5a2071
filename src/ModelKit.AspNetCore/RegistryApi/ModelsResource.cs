using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace ModelKit.AspNetCore;

/// <summary>
/// <c>/api/v1/models…</c> at one mount prefix, shared by seed 000 and seed 002: which of them answers list, get and
/// delete (the first one mapped that asks for them), and one error shape for the shared root that picks the seed an
/// answer belongs to. An endpoint's own seed decides (401, 403 and errors of its handler); an unmatched path (404, 405)
/// takes the seed whose operation the path names: deploy, status, inference, batch_inference, scale and PUT are seed 000's,
/// the rest the registry's when it is mapped.
/// </summary>
internal sealed class ModelsResource
{
    private static readonly ConditionalWeakTable<ModelKitSurfaces, ConcurrentDictionary<string, ModelsResource>> Mounted = new();

    private readonly Lock _gate = new();
    private readonly string _prefix;
    private SurfaceErrorWriter? _deployment;
    private SurfaceErrorWriter? _registry;

    private ModelsResource(string prefix) => _prefix = prefix;

    /// <summary>The seed answering list, get and delete: <see cref="DeploymentApiEndpointRouteBuilderExtensions.SurfaceId"/>, the registry's, or null before either is mapped.</summary>
    public string? ReadsOwner { get; private set; }

    /// <summary>The shape list, get and delete answer in when both seeds share the path (<see cref="ModelsResourceOptions"/>).</summary>
    public static ModelsResourceShape ConfiguredShape(IEndpointRouteBuilder endpoints) =>
        endpoints.ServiceProvider.GetService<IOptions<ModelsResourceOptions>>()?.Value.Shape ?? ModelsResourceShape.Registry;

    /// <summary>The shared resource at <paramref name="prefix"/> (a <see cref="SurfaceMap.Prefix"/>) of this app.</summary>
    public static ModelsResource At(IEndpointRouteBuilder endpoints, string prefix)
    {
        var surfaces = endpoints.ServiceProvider.GetRequiredService<ModelKitSurfaces>();
        return Mounted.GetOrCreateValue(surfaces).GetOrAdd(prefix, static p => new ModelsResource(p));
    }

    /// <summary>
    /// Records that seed <paramref name="surfaceId"/> is mapped here with <paramref name="errors"/>, and makes the shared
    /// root answer in the shape of the seed each request belongs to. Returns whether this seed takes list, get and delete:
    /// when it <paramref name="wantsReads"/> and no seed mapped before took them.
    /// </summary>
    public bool Add(IEndpointRouteBuilder endpoints, string surfaceId, SurfaceErrorWriter errors, bool wantsReads)
    {
        bool takes;
        lock (_gate)
        {
            if (surfaceId == DeploymentApiEndpointRouteBuilderExtensions.SurfaceId) _deployment = errors;
            else _registry = errors;
            takes = wantsReads && ReadsOwner is null;
            if (takes) ReadsOwner = surfaceId;
        }

        // After SurfaceMap.Create registered the seed's own writer for the root: the shared one replaces it.
        endpoints.ServiceProvider.GetRequiredService<ModelKitSurfaces>().Register(_prefix + "/api/v1", Write);
        return takes;
    }

    private IResult Write(HttpContext context, SurfaceError error)
    {
        var writer = context.GetEndpoint()?.Metadata.GetMetadata<SurfaceShapeMetadata>()?.Errors ?? ByPath(context.Request);
        return writer(context, error);
    }

    private SurfaceErrorWriter ByPath(HttpRequest request)
    {
        SurfaceErrorWriter? deployment, registry;
        string? owner;
        lock (_gate) (deployment, registry, owner) = (_deployment, _registry, ReadsOwner);
        var fallback = registry ?? deployment ?? DeploymentApiErrors.Writer;
        if (deployment is null || registry is null) return fallback;

        var path = request.Path.Value ?? string.Empty;
        var models = _prefix + "/api/v1/models";
        if (!path.StartsWith(models, StringComparison.OrdinalIgnoreCase)) return registry;
        var rest = path[models.Length..].Trim('/');
        var segments = rest.Length == 0 ? [] : rest.Split('/');
        var deploymentOperation = segments switch
        {
            ["deploy"] => true,
            [_, "status" or "inference" or "batch_inference" or "scale"] => true,
            [_] when HttpMethods.IsPut(request.Method) => true,
            [] or [_] => owner == DeploymentApiEndpointRouteBuilderExtensions.SurfaceId,
            _ => false,
        };
        return deploymentOperation ? deployment : registry;
    }
}

/// <summary>Endpoint metadata: the error shape of the seed an endpoint belongs to.</summary>
internal sealed record SurfaceShapeMetadata(SurfaceErrorWriter Errors);
