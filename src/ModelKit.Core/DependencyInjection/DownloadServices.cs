using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using ModelKit;
using ModelKit.Downloads;
using ModelKit.Registry;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The download manager, its sources and the hub client, as <see cref="ModelKitServiceCollectionExtensions.AddModelKit(IServiceCollection, Action{ModelKitOptions}?)"/> adds them.</summary>
internal static class DownloadServices
{
    public const string HubApiClient = "ModelKit.Hub";
    public const string HubFilesClient = "ModelKit.HubFiles";
    public const string UrlClient = "ModelKit.Url";

    public static void Add(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(DownloadManager))) return;
        services.AddOptions<DownloadOptions>().ValidateOnStart();
        services.AddOptions<HubOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DownloadOptions>, DownloadOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HubOptions>, DownloadOptionsValidator>());

        // API calls (search, model information) are short: the standard pipeline retries them and bounds each attempt.
        services.AddHttpClient(HubApiClient, (sp, client) => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddStandardResilienceHandler()
            .Configure((HttpStandardResilienceOptions resilience, IServiceProvider sp) =>
            {
                var timeout = sp.GetRequiredService<IOptions<HubOptions>>().Value.RequestTimeout;
                resilience.AttemptTimeout.Timeout = timeout;
                resilience.TotalRequestTimeout.Timeout = timeout * 3 + TimeSpan.FromSeconds(5);
                resilience.CircuitBreaker.SamplingDuration = timeout * 2 + TimeSpan.FromSeconds(1);
            });

        // File transfers are long and resumable: no per-request timeout (the manager's stall timeout watches them) and no
        // retry at this level (the manager retries a file from the bytes it has). Redirects are followed by the hub client
        // itself, so that its token never goes to the storage a file redirects to.
        services.AddHttpClient(HubFilesClient, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(30) });
        services.AddHttpClient(UrlClient, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => UrlSource.CreateHandler(sp.GetRequiredService<IOptions<DownloadOptions>>().Value));

        services.TryAddSingleton<IModelHub>(sp =>
        {
            var factory = sp.GetRequiredService<IHttpClientFactory>();
            return new HuggingFaceHub(factory.CreateClient(HubApiClient), factory.CreateClient(HubFilesClient), sp.GetRequiredService<IOptions<HubOptions>>().Value);
        });
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelSource, HuggingFaceSource>(sp => new HuggingFaceSource(sp.GetRequiredService<IModelHub>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelSource, UrlSource>(sp =>
            new UrlSource(sp.GetRequiredService<IHttpClientFactory>().CreateClient(UrlClient), sp.GetRequiredService<IOptions<DownloadOptions>>())));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IModelSource, FileSource>(sp => new FileSource(sp.GetRequiredService<IOptions<DownloadOptions>>())));
        services.TryAddSingleton(sp => new DownloadManager(
            sp.GetServices<IModelSource>(),
            sp.GetRequiredService<IModelRegistry>(),
            sp.GetRequiredService<IOptions<DownloadOptions>>().Value,
            sp.GetRequiredService<IOptions<ModelKitOptions>>().Value,
            sp.GetService<TimeProvider>(),
            sp.GetService<Microsoft.Extensions.Logging.ILogger<DownloadManager>>()));
        services.TryAddSingleton<IDownloadManager>(sp => sp.GetRequiredService<DownloadManager>());
        services.TryAddSingleton<IModelSync>(sp => new HubModelSync(sp.GetRequiredService<IModelRegistry>(), sp.GetRequiredService<IModelHub>(), sp.GetService<TimeProvider>()));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, DownloadsRestorer>());
    }
}
