using ModelKit.Downloads;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Brings back the download queue when the host starts: unfinished tasks resume where their files stopped.</summary>
internal sealed class DownloadsRestorer(DownloadManager downloads) : Microsoft.Extensions.Hosting.IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => downloads.RestoreAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
