using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelKit.Grpc;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds ModelKit's gRPC services (the adapter's part of the container).</summary>
public static class GrpcModelKitBuilderExtensions
{
    /// <summary>
    /// Registers the gRPC adapter: ASP.NET Core gRPC with ModelKit's interceptor (errors as statuses, the per-key rate
    /// limit), server reflection and gRPC health checking (<c>grpc.health.v1</c>) over the host's health checks and per model. Needs <c>AddHttpApi</c> (API keys
    /// and scopes are shared with REST). Map the services with <c>app.MapModelKitGrpc()</c>.
    /// </summary>
    public static IModelKitBuilder AddGrpcApi(this IModelKitBuilder builder, Action<ModelKitGrpcOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        if (configure is not null) services.Configure(configure);
        if (services.Any(static d => d.ServiceType == typeof(ModelKitGrpcInterceptor))) return builder; // a second call only adds configuration

        services.AddOptions<ModelKitGrpcOptions>()
            .Validate(o => o.MaxReceiveMessageBytes > 0 && o.MaxSendMessageBytes > 0, "ModelKit:Grpc: MaxReceiveMessageBytes and MaxSendMessageBytes must be positive.")
            .ValidateOnStart();
        services.AddSingleton<ModelKitGrpcInterceptor>();

        // gRPC's catch-all for unknown services would take every POST /a/b of the REST surfaces (and turn their 405 and 415
        // answers into 404s): unknown gRPC methods fall through instead, and a gRPC client reads the 404 as UNIMPLEMENTED.
        services.AddGrpc(o => o.IgnoreUnknownServices = true);

        // ModelKit's interceptor and limits on ModelKit's services only: a host's own gRPC services keep theirs.
        Configure<GrpcInferenceService>(services);
        Configure<GrpcModelService>(services);
        Configure<ModelKitHealthService>(services);
        services.AddGrpcReflection();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<HealthReports>();
        services.TryAddSingleton<ModelKit.AspNetCore.IGrpcStatusDetails, GrpcStatusDetails>();
        return builder;
    }

    /// <summary>Binds <see cref="ModelKitGrpcOptions"/> from <paramref name="configuration"/> (the <c>ModelKit:Grpc</c> section) and registers the adapter.</summary>
    public static IModelKitBuilder AddGrpcApi(this IModelKitBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<ModelKitGrpcOptions>().Bind(configuration);
        return builder.AddGrpcApi();
    }

    private static void Configure<TService>(IServiceCollection services)
        where TService : class =>
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions<TService>>().Configure<Microsoft.Extensions.Options.IOptions<ModelKitGrpcOptions>>((grpc, own) =>
        {
            grpc.Interceptors.Add<ModelKitGrpcInterceptor>();
            grpc.MaxReceiveMessageSize = own.Value.MaxReceiveMessageBytes;
            grpc.MaxSendMessageSize = own.Value.MaxSendMessageBytes;
        });
}
