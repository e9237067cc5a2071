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
        services.AddOptions<ModelKitGrpcOptions>()
            .Validate(o => o.MaxReceiveMessageBytes > 0 && o.MaxSendMessageBytes > 0, "ModelKit:Grpc: MaxReceiveMessageBytes and MaxSendMessageBytes must be positive.")
            .ValidateOnStart();
        if (configure is not null) services.Configure(configure);
        services.TryAddSingleton<ModelKitGrpcInterceptor>();
        services.AddGrpc(o => o.Interceptors.Add<ModelKitGrpcInterceptor>());
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<Microsoft.Extensions.Options.IOptions<ModelKitGrpcOptions>>((grpc, own) =>
        {
            grpc.MaxReceiveMessageSize = own.Value.MaxReceiveMessageBytes;
            grpc.MaxSendMessageSize = own.Value.MaxSendMessageBytes;
        });
        services.AddGrpcReflection();
        services.TryAddSingleton(TimeProvider.System);
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
}
