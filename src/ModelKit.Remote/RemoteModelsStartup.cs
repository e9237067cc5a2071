using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace ModelKit.Remote;

/// <summary>
/// Loads the remote models when the host starts (no provider is contacted): their clients are made and the log names
/// them, and <see cref="Text.RemoteModelInfo.AddedAt"/> is the host's start, not the first request's time.
/// </summary>
internal sealed class RemoteModelsStartup(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<RemoteTextGenerationService>();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
