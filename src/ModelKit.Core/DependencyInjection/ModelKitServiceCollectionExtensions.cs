using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using ModelKit;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The builder <c>AddModelKit</c> returns; features are extension methods on it.</summary>
public interface IModelKitBuilder
{
    /// <summary>The service collection.</summary>
    IServiceCollection Services { get; }
}

/// <summary>Registers ModelKit's services.</summary>
public static class ModelKitServiceCollectionExtensions
{
    /// <summary>
    /// Adds the registry, the model cache, the inference service, metrics and a health check named <c>modelkit</c>.
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
            sp.GetService<Microsoft.Extensions.Logging.ILogger<ModelRegistry>>()));
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
            sp.GetRequiredService<IOptions<ModelKitOptions>>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, DeploymentRestorer>());
        services.TryAddSingleton<IDeploymentManager>(sp => sp.GetRequiredService<DeploymentManager>());
        services.TryAddSingleton<InferenceService>();
        services.TryAddSingleton<IInferenceService>(sp => sp.GetRequiredService<InferenceService>());
        services.TryAddSingleton<InferenceJobService>();
        services.TryAddSingleton<IInferenceJobService>(sp => sp.GetRequiredService<InferenceJobService>());

        if (!services.Any(d => d.ServiceType == typeof(ModelKitHealthCheck)))
        {
            services.AddSingleton<ModelKitHealthCheck>();
            services.AddHealthChecks().AddCheck<ModelKitHealthCheck>("modelkit", tags: ["ready"]);
        }

        return new ModelKitBuilder(services);
    }

    /// <summary>
    /// Adds ModelKit as <see cref="AddModelKit(IServiceCollection, Action{ModelKitOptions}?)"/> does and binds its options from
    /// <paramref name="configuration"/>, the host's <c>ModelKit</c> section: the section itself to <see cref="ModelKitOptions"/>,
    /// <c>Cache</c> to <see cref="ModelCacheOptions"/>, <c>Inference</c> to <see cref="InferenceOptions"/>, <c>Deployments</c> to
    /// <see cref="DeploymentOptions"/> and <c>Jobs</c> to <see cref="InferenceJobOptions"/>. Every option is validated when the
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

    private sealed class ModelKitBuilder(IServiceCollection services) : IModelKitBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}

internal sealed class ModelKitOptionsValidator :
    IValidateOptions<ModelKitOptions>, IValidateOptions<ModelCacheOptions>, IValidateOptions<InferenceOptions>, IValidateOptions<DeploymentOptions>,
    IValidateOptions<InferenceJobOptions>
{
    public ValidateOptionsResult Validate(string? name, InferenceJobOptions options)
    {
        var errors = new List<string>();
        if (options.MaxJobs < 1) errors.Add($"InferenceJobOptions.MaxJobs must be at least 1 (was {options.MaxJobs}).");
        if (options.Retention <= TimeSpan.Zero) errors.Add($"InferenceJobOptions.Retention must be positive (was {options.Retention}).");
        if (options.MaxConcurrentJobs < 1) errors.Add($"InferenceJobOptions.MaxConcurrentJobs must be at least 1 (was {options.MaxConcurrentJobs}).");
        if (options.DefaultTimeout <= TimeSpan.Zero) errors.Add($"InferenceJobOptions.DefaultTimeout must be positive (was {options.DefaultTimeout}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, DeploymentOptions options)
    {
        var errors = new List<string>();
        if (options.MaxLogEntries < 1) errors.Add($"DeploymentOptions.MaxLogEntries must be at least 1 (was {options.MaxLogEntries}).");
        if (options.AutoscaleInterval <= TimeSpan.Zero) errors.Add($"DeploymentOptions.AutoscaleInterval must be positive (was {options.AutoscaleInterval}).");
        if (options.ScaleDownAfterIdleChecks < 1) errors.Add($"DeploymentOptions.ScaleDownAfterIdleChecks must be at least 1 (was {options.ScaleDownAfterIdleChecks}).");
        if (options.DrainTimeout <= TimeSpan.Zero) errors.Add($"DeploymentOptions.DrainTimeout must be positive (was {options.DrainTimeout}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, ModelKitOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory)) errors.Add("ModelKitOptions.DataDirectory is required.");
        if (options.MaxArtifactBytes <= 0) errors.Add($"ModelKitOptions.MaxArtifactBytes must be positive (was {options.MaxArtifactBytes}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, ModelCacheOptions options)
    {
        var errors = new List<string>();
        if (options.MemoryLimitBytes is <= 0) errors.Add($"ModelCacheOptions.MemoryLimitBytes must be positive or unset (was {options.MemoryLimitBytes}).");
        if (!(options.MemoryLimitFraction is > 0 and <= 1)) errors.Add($"ModelCacheOptions.MemoryLimitFraction must be greater than 0 and at most 1 (was {options.MemoryLimitFraction}).");
        if (options.MaxModels is < 1 or > 10_000) errors.Add($"ModelCacheOptions.MaxModels must be 1..10000 (was {options.MaxModels}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, InferenceOptions options)
    {
        var errors = new List<string>();
        if (options.DefaultTimeout <= TimeSpan.Zero) errors.Add($"InferenceOptions.DefaultTimeout must be positive (was {options.DefaultTimeout}).");
        if (!ModelKit.Backends.ExecutionDevice.TryParse(options.DefaultDevice, out _)) errors.Add($"InferenceOptions.DefaultDevice must be 'cpu' or 'cuda:N' (was '{options.DefaultDevice}').");
        if (options.IntraOpThreads is < 1 or > 1024) errors.Add($"InferenceOptions.IntraOpThreads must be 1..1024 (was {options.IntraOpThreads}).");
        try
        {
            options.DefaultBatching.Validate();
        }
        catch (InvalidModelConfigException ex)
        {
            errors.Add("InferenceOptions.DefaultBatching: " + ex.Message);
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Ready when the registry answers and every served model can serve; a served or deployed model whose artifacts are
/// missing or corrupt makes it unhealthy and is named (model, version, deployment). Reports the cache's state.
/// </summary>
internal sealed class ModelKitHealthCheck(IModelRegistry registry, IModelCache cache, IModelRouter router) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var page = await registry.ListModelsAsync(new ModelQuery { Limit = 1 }, cancellationToken).ConfigureAwait(false);
            var stats = cache.GetStats();
            var data = new Dictionary<string, object>
            {
                ["models"] = page.Total,
                ["cached_models"] = stats.Count,
                ["cache_memory_bytes"] = stats.MemoryBytes,
                ["cache_memory_limit_bytes"] = stats.MemoryLimitBytes,
            };
            var unavailable = router.GetUnavailable();
            if (unavailable.Count == 0) return HealthCheckResult.Healthy("ModelKit is serving.", data);
            data["unavailable_models"] = unavailable.Select(u => new Dictionary<string, object?>
            {
                ["model_id"] = u.ModelId,
                ["version"] = u.Version,
                ["deployment_id"] = u.DeploymentId,
                ["reason"] = u.Reason,
            }).ToArray();
            var names = string.Join(", ", unavailable.Select(u => u.DeploymentId is null ? $"{u.ModelId}:{u.Version}" : $"{u.ModelId}:{u.Version} (deployment '{u.DeploymentId}')"));
            return HealthCheckResult.Unhealthy($"{unavailable.Count} served model(s) cannot serve: {names}.", data: data);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("The model registry is not reachable.", ex);
        }
    }
}

/// <summary>Brings back saved deployments when the host starts; the models come up in the background.</summary>
internal sealed class DeploymentRestorer(DeploymentManager deployments) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => deployments.RestoreAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
