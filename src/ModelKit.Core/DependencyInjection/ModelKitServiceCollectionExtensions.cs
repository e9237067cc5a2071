using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ModelKit;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers ModelKit's services.</summary>
public static class ModelKitServiceCollectionExtensions
{
    /// <summary>
    /// Adds the registry, the model cache, the inference service, the download manager (<see cref="ModelKit.Downloads.IDownloadManager"/>),
    /// metrics and a health check named <c>modelkit</c>.
    /// Add a backend with <c>.AddOnnxRuntime()</c>. Calling it twice is harmless. Nothing is loaded here.
    /// </summary>
    public static IModelKitBuilder AddModelKit(this IServiceCollection services, Action<ModelKitOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<ModelKitOptions>().ValidateOnStart();
        services.AddOptions<ModelCacheOptions>().ValidateOnStart();
        services.AddOptions<InferenceOptions>().ValidateOnStart();
        services.AddOptions<DeploymentOptions>().ValidateOnStart();
        services.AddOptions<InferenceJobOptions>().ValidateOnStart();
        if (configure is not null) services.Configure(configure);
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelKitOptions>, ModelKitOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelCacheOptions>, ModelKitOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InferenceOptions>, ModelKitOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DeploymentOptions>, ModelKitOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<InferenceJobOptions>, ModelKitOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new ModelKitMetrics(sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<SystemMonitor>();
        services.TryAddSingleton<ModelCache>();
        services.TryAddSingleton<IModelCache>(sp => sp.GetRequiredService<ModelCache>());
        // The embedded metadata store unless the host registered another IModelMetadataStore (a server database) first.
        services.TryAddSingleton<IModelMetadataStore>(sp => new SqliteModelMetadataStore(
            Path.Combine(Path.GetFullPath(sp.GetRequiredService<IOptions<ModelKitOptions>>().Value.DataDirectory), "registry.db"),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<ModelRegistry>>()));
        services.TryAddSingleton(sp => new ModelRegistry(
            sp.GetRequiredService<IModelMetadataStore>(),
            sp.GetRequiredService<IOptions<ModelKitOptions>>(),
            sp.GetServices<ModelKit.Backends.IInferenceBackend>(),
            sp.GetServices<IModelUsageGuard>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<ModelRegistry>>(),
            sp.GetServices<IArtifactPeerSource>()));
        services.TryAddSingleton<IModelRegistry>(sp => sp.GetRequiredService<ModelRegistry>());
        services.TryAddSingleton<DeploymentTable>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelUsageGuard, DeploymentTable>(sp => sp.GetRequiredService<DeploymentTable>()));
        services.TryAddSingleton(sp => new ModelRouter(
            sp.GetRequiredService<IModelRegistry>(),
            sp.GetRequiredService<IModelCache>(),
            sp.GetRequiredService<IOptions<InferenceOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ModelKitMetrics>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<ModelRouter>>()));
        services.TryAddSingleton<IModelRouter>(sp => sp.GetRequiredService<ModelRouter>());
        services.TryAddSingleton(sp => new DeploymentManager(
            sp.GetRequiredService<DeploymentTable>(),
            sp.GetRequiredService<IModelRegistry>(),
            sp.GetRequiredService<IModelCache>(),
            sp.GetRequiredService<ModelRouter>(),
            sp.GetRequiredService<IOptions<DeploymentOptions>>(),
            sp.GetRequiredService<IOptions<InferenceOptions>>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ModelKitMetrics>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<DeploymentManager>>(),
            sp.GetRequiredService<IOptions<ModelKitOptions>>(),
            sp.GetService<ModelKit.Downloads.IDownloadManager>(),
            sp.GetService<IDeploymentStore>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, DeploymentRestorer>());
        services.TryAddSingleton<IDeploymentManager>(sp => sp.GetRequiredService<DeploymentManager>());
        services.TryAddSingleton<InferenceService>();
        services.TryAddSingleton<IInferenceService>(sp => sp.GetRequiredService<InferenceService>());
        services.TryAddSingleton<InferenceJobService>();
        services.TryAddSingleton<IInferenceJobService>(sp => sp.GetRequiredService<InferenceJobService>());

        DownloadServices.Add(services);

        if (!services.Any(d => d.ServiceType == typeof(ModelKitHealthCheck)))
        {
            services.AddSingleton<ModelKitHealthCheck>();
            services.AddSingleton<DeploymentsHealthCheck>();
            services.AddHealthChecks()
                .AddCheck<ModelKitHealthCheck>("modelkit", tags: ["ready"])
                .AddCheck<DeploymentsHealthCheck>(DeploymentsHealthCheck.Name);
        }

        return new ModelKitBuilder(services);
    }

    /// <summary>
    /// Adds ModelKit as <see cref="AddModelKit(IServiceCollection, Action{ModelKitOptions}?)"/> does and binds its options from
    /// <paramref name="configuration"/>, the host's <c>ModelKit</c> section: the section itself to <see cref="ModelKitOptions"/>,
    /// <c>Cache</c> to <see cref="ModelCacheOptions"/>, <c>Inference</c> to <see cref="InferenceOptions"/>, <c>Deployments</c> to
    /// <see cref="DeploymentOptions"/>, <c>Jobs</c> to <see cref="InferenceJobOptions"/>, <c>Downloads</c> to
    /// <see cref="ModelKit.Downloads.DownloadOptions"/> and <c>Hub</c> to <see cref="ModelKit.Downloads.HubOptions"/>. Every option is validated when the
    /// host starts. With the default providers an environment variable such as <c>ModelKit__Cache__MemoryLimitBytes</c>
    /// sets <c>ModelKit:Cache:MemoryLimitBytes</c>. Later <c>Configure*</c> calls on the builder apply after the binding.
    /// </summary>
    /// <example><code>builder.Services.AddModelKit(builder.Configuration.GetSection("ModelKit")).AddOnnxRuntime();</code></example>
    public static IModelKitBuilder AddModelKit(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddModelKit();
        services.AddOptions<ModelKitOptions>().Bind(configuration);
        services.AddOptions<ModelCacheOptions>().Bind(configuration.GetSection("Cache"));
        services.AddOptions<InferenceOptions>().Bind(configuration.GetSection("Inference"));
        services.AddOptions<DeploymentOptions>().Bind(configuration.GetSection("Deployments"));
        services.AddOptions<InferenceJobOptions>().Bind(configuration.GetSection("Jobs"));
        services.AddOptions<ModelKit.Downloads.DownloadOptions>().Bind(configuration.GetSection("Downloads"));
        services.AddOptions<ModelKit.Downloads.HubOptions>().Bind(configuration.GetSection("Hub"));
        return builder;
    }

    /// <summary>Configures the model cache's limits.</summary>
    public static IModelKitBuilder ConfigureCache(this IModelKitBuilder builder, Action<ModelCacheOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Configures the deployment manager (log size, autoscaler, drain timeout, warm-up).</summary>
    public static IModelKitBuilder ConfigureDeployments(this IModelKitBuilder builder, Action<DeploymentOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Configures asynchronous jobs (retention, limits, default timeout).</summary>
    public static IModelKitBuilder ConfigureJobs(this IModelKitBuilder builder, Action<InferenceJobOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Configures the inference service (timeouts, on-demand batching, device).</summary>
    public static IModelKitBuilder ConfigureInference(this IModelKitBuilder builder, Action<InferenceOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Lets the registry fetch files this node lacks from <paramref name="directory"/>, a ModelKit data directory (or a
    /// mirror of its <c>blobs/</c>) on a file system the nodes share: by sha256, kept only when the content matches.
    /// </summary>
    public static IModelKitBuilder AddArtifactDirectory(this IModelKitBuilder builder, string directory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IArtifactPeerSource>(new DirectoryArtifactSource(directory));
        return builder;
    }

    private sealed class ModelKitBuilder(IServiceCollection services) : IModelKitBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
