using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.AspNetCore;
using ModelKit.Grpc;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps ModelKit's gRPC services.</summary>
public static partial class ModelKitGrpcEndpointRouteBuilderExtensions
{
    /// <summary>The gRPC surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "grpc";

    /// <summary>
    /// Maps <c>inference.GRPCInferenceService</c> (Open Inference Protocol), seed 001's <c>model.ModelService</c>,
    /// <c>grpc.health.v1.Health</c> and server reflection. Each RPC needs the scope its REST equivalent needs (API keys
    /// as <c>x-api-key</c> or <c>authorization: Bearer</c> metadata); health, liveness and readiness are anonymous.
    /// gRPC needs HTTP/2: a Kestrel endpoint with <c>Http2</c> (h2c) or <c>Http1AndHttp2</c> over TLS.
    /// </summary>
    public static IEndpointConventionBuilder MapModelKitGrpc(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<ModelKitGrpcInterceptor>() is null)
        {
            throw new InvalidOperationException("MapModelKitGrpc() needs the gRPC adapter's services: call services.AddModelKit().AddHttpApi(...).AddGrpcApi().");
        }

        var authEnabled = ModelKitEndpointConventions.AuthEnabled(endpoints.ServiceProvider, "MapModelKitGrpc()", SurfaceId);
        var builders = new List<IEndpointConventionBuilder>
        {
            endpoints.MapGrpcService<GrpcInferenceService>(),
            endpoints.MapGrpcService<ModelKitHealthService>(),
            endpoints.MapGrpcReflectionService(),
        };
        MapModelService(endpoints, builders);
        foreach (var builder in builders) builder.Add(endpoint => Secure(endpoint, authEnabled));
        return new Conventions(builders);
    }

    /// <summary>Seed 001's <c>model.ModelService</c>, mapped where it is implemented.</summary>
    static partial void MapModelService(IEndpointRouteBuilder endpoints, List<IEndpointConventionBuilder> builders);

    // The scope of the RPC (GrpcScopes), or anonymous; gRPC's fallback for unknown methods stays open (it answers UNIMPLEMENTED).
    private static void Secure(EndpointBuilder endpoint, bool authEnabled)
    {
        if (endpoint.Metadata.OfType<GrpcMethodMetadata>().FirstOrDefault() is not { } method) return;
        var scope = GrpcScopes.For(method.Method.FullName);
        if (!authEnabled || scope is null) endpoint.Metadata.Add(new AllowAnonymousAttribute());
        else endpoint.Metadata.Add(new AuthorizeAttribute(ModelKitScopes.Policy(scope)));
    }

    private sealed class Conventions(List<IEndpointConventionBuilder> builders) : IEndpointConventionBuilder
    {
        public void Add(Action<EndpointBuilder> convention)
        {
            foreach (var builder in builders) builder.Add(convention);
        }

        public void Finally(Action<EndpointBuilder> finallyConvention)
        {
            foreach (var builder in builders) builder.Finally(finallyConvention);
        }
    }
}
