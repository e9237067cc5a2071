using ModelKit.Deployments;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Brings back saved deployments when the host starts; the models come up in the background.</summary>
internal sealed class DeploymentRestorer(DeploymentManager deployments) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => deployments.RestoreAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
