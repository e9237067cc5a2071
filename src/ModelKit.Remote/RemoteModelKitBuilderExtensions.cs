using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelKit.Remote;
using ModelKit.Text;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds models served through remote OpenAI-compatible providers to ModelKit.</summary>
public static class RemoteModelKitBuilderExtensions
{
    /// <summary>
    /// Serves the remote models configured in <paramref name="configuration"/> (the host's <c>ModelKit:RemoteModels</c>
    /// section, <see cref="RemoteModelsOptions"/>) beside local ones: they are listed by <c>/v1/models</c> and seed 001's
    /// <c>/models</c> (<see cref="IRemoteModelCatalog"/>) and generate text through the host's
    /// <see cref="ITextGenerationService"/>, so every surface, <c>IChatClient</c> and Semantic Kernel reach them. Validated
    /// when the host starts; no provider is contacted until a request comes. Calling it again adds configuration.
    /// </summary>
    /// <example><code>builder.Services.AddModelKit().AddOnnxRuntime().AddRemoteModels(builder.Configuration.GetSection("ModelKit:RemoteModels"));</code></example>
    public static IModelKitBuilder AddRemoteModels(this IModelKitBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<RemoteModelsOptions>().Bind(configuration);
        return AddRemoteModelServices(builder);
    }

    /// <summary>Serves the remote models <paramref name="configure"/> sets up; see <see cref="AddRemoteModels(IModelKitBuilder, IConfiguration)"/>.</summary>
    /// <example><code>services.AddModelKit().AddRemoteModels(o => o.Models["gpt-4o"] = new() { Endpoint = new("https://api.openai.com/v1"), ApiKey = key });</code></example>
    public static IModelKitBuilder AddRemoteModels(this IModelKitBuilder builder, Action<RemoteModelsOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.Configure(configure);
        return AddRemoteModelServices(builder);
    }

    private static IModelKitBuilder AddRemoteModelServices(IModelKitBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<RemoteModelsOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RemoteModelsOptions>, RemoteModelsOptionsValidator>());
        services.TryAddSingleton<RemoteTextGenerationService>();
        services.TryAddSingleton<IRemoteModelCatalog>(static sp => sp.GetRequiredService<RemoteTextGenerationService>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, RemoteModelsStartup>());

        // The router takes the unkeyed place whether the local backend was added before or after (ModelKit.Onnx's TryAdd
        // then does nothing; it also registers itself under the Local key). A host's own backend that sits in the unkeyed
        // place without the Local key is moved there, so that local ids still reach it.
        if (!services.Any(static d => d.ServiceType == typeof(ITextGenerationService) && !d.IsKeyedService && d.ImplementationType == typeof(TextGenerationRouter)))
        {
            var hasLocal = services.Any(static d => d.ServiceType == typeof(ITextGenerationService) && d.IsKeyedService && Equals(d.ServiceKey, TextGenerationServiceKeys.Local));
            for (var i = services.Count - 1; i >= 0; i--)
            {
                var existing = services[i];
                if (existing.ServiceType != typeof(ITextGenerationService) || existing.IsKeyedService) continue;
                services.RemoveAt(i);
                if (!hasLocal)
                {
                    services.Add(AsLocal(existing));
                    hasLocal = true;
                }
            }

            services.AddSingleton<ITextGenerationService, TextGenerationRouter>();
        }

        return builder;
    }

    private static ServiceDescriptor AsLocal(ServiceDescriptor unkeyed)
    {
        if (unkeyed.ImplementationInstance is { } instance) return ServiceDescriptor.KeyedSingleton(typeof(ITextGenerationService), TextGenerationServiceKeys.Local, instance);
        if (unkeyed.ImplementationFactory is { } factory)
        {
            return new ServiceDescriptor(typeof(ITextGenerationService), TextGenerationServiceKeys.Local, (sp, _) => factory(sp), unkeyed.Lifetime);
        }

        return new ServiceDescriptor(typeof(ITextGenerationService), TextGenerationServiceKeys.Local, unkeyed.ImplementationType!, unkeyed.Lifetime);
    }
}
