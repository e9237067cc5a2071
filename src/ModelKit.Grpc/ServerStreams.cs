using Grpc.Core;
using Microsoft.Extensions.Hosting;

namespace ModelKit.Grpc;

/// <summary>
/// Runs a streaming RPC until the client leaves, its deadline passes, or the host stops: a stream open when the host
/// stops ends at once with UNAVAILABLE (so a client reconnects elsewhere) instead of holding the shutdown.
/// </summary>
internal static class ServerStreams
{
    public static async Task RunAsync(IHostApplicationLifetime lifetime, ServerCallContext context, Func<CancellationToken, Task> stream)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await stream(linked.Token);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The server is stopping; reconnect to another instance and send the request again."));
        }
    }
}
