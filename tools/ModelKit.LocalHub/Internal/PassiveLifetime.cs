using Microsoft.Extensions.Hosting;

namespace ModelKit.LocalHub.Internal;

/// <summary>
/// A host lifetime that listens to no signals: a hub inside a test process must not stop (or keep the process alive)
/// on Ctrl+C or SIGTERM; the tool's Program handles those itself and disposes the hub.
/// </summary>
internal sealed class PassiveLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
