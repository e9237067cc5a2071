using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.AspNetCore;
using ModelKit.Dashboard;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the monitoring dashboard (<c>app.MapModelKitDashboard("/dashboard")</c>); see docs/dashboard.md.</summary>
public static class ModelKitDashboardEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Maps the dashboard under <paramref name="prefix"/>: the page at the prefix itself, its login form, live stream,
    /// actions and files below it. Needs <c>AddDashboard()</c> and ModelKit's HTTP API (<c>AddHttpApi</c>, for the keys).
    /// </summary>
    public static RouteGroupBuilder MapModelKitDashboard(this IEndpointRouteBuilder endpoints, string prefix = "/dashboard")
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        if (!prefix.StartsWith('/')) throw new ArgumentException($"The dashboard's prefix must start with '/' (was '{prefix}').", nameof(prefix));
        if (endpoints.ServiceProvider.GetService<DashboardSampler>() is null)
        {
            throw new InvalidOperationException("MapModelKitDashboard needs the dashboard's services: call services.AddModelKit(…).AddHttpApi(…).AddDashboard().");
        }

        if (endpoints.ServiceProvider.GetService<ModelKitApiKeyDigests>() is null)
        {
            throw new InvalidOperationException("MapModelKitDashboard needs ModelKit's HTTP API for its keys: call services.AddModelKit(…).AddHttpApi(…).");
        }

        return DashboardEndpoints.Map(endpoints, prefix);
    }
}
