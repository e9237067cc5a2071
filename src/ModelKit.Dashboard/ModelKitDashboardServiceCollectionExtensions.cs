using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using ModelKit.Dashboard;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// The monitoring dashboard's services: <c>services.AddModelKit(…).AddHttpApi(…).AddDashboard()</c>, then
/// <c>app.MapModelKitDashboard("/dashboard")</c>. Viewing needs a key with the read scope (given once in the login form and
/// kept in a session cookie); actions need manage. With auth off, the dashboard is open, as the APIs are.
/// </summary>
public static class ModelKitDashboardServiceCollectionExtensions
{
    /// <summary>Adds the dashboard's services: the chart sampler (it starts with the app), sessions, and ASP.NET Core Data Protection for the cookie.</summary>
    public static IModelKitBuilder AddDashboard(this IModelKitBuilder builder, Action<ModelKitDashboardOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var options = services.AddOptions<ModelKitDashboardOptions>();
        if (configure is not null) options.Configure(configure);
        options.Validate(o => o.RefreshInterval >= TimeSpan.FromMilliseconds(250), "ModelKit:Dashboard:RefreshInterval must be at least 250 ms.")
            .Validate(o => o.History >= TimeSpan.FromMinutes(1) && o.History <= TimeSpan.FromMinutes(60), "ModelKit:Dashboard:History must be 1 to 60 minutes.")
            .Validate(o => o.SessionLifetime > TimeSpan.Zero, "ModelKit:Dashboard:SessionLifetime must be positive.")
            .Validate(o => o.LogLines is >= 1 and <= 500, "ModelKit:Dashboard:LogLines must be 1 to 500.")
            .ValidateOnStart();
        services.AddDataProtection();
        services.TryAddSingleton<DashboardSampler>();
        services.TryAddSingleton<DashboardSession>();
        services.TryAddSingleton<DashboardState>();
        services.AddHostedService<DashboardSamplerStart>();
        return builder;
    }

    // Resolves the sampler when the app starts, so that the charts cover the time before anyone opened the page.
    private sealed class DashboardSamplerStart(DashboardSampler sampler) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(sampler);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
