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

/// <summary>Brings back saved deployments when the host starts; the models come up in the background.</summary>
internal sealed class DeploymentRestorer(DeploymentManager deployments) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => deployments.RestoreAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
