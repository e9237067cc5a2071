using System.Net;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

using ModelKit.Tests;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// The sample server on Kestrel with one h2c (HTTP/2 without TLS) endpoint on a free loopback port, over its own data
/// directory, with its demo models deployed; gRPC channels to it send the sample's API keys as <c>x-api-key</c> metadata.
/// </summary>
public class GrpcSampleServer : WebApplicationFactory<Program>
{
    /// <summary>The sample's admin key (read, infer, manage).</summary>
    public const string AdminKey = "modelkit-sample-key-change-me";

    /// <summary>The sample's read-only key.</summary>
    public const string ReadOnlyKey = "modelkit-sample-read-only-key";

    /// <summary>The largest gRPC message the test server accepts (small, so that the limit can be crossed cheaply).</summary>
    public const int MaxReceiveMessageBytes = 1 << 20;

    private readonly TempDirectory _dir = new();
    private GrpcChannel? _channel;

    public GrpcSampleServer()
    {
        UseKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        StartServer();
        Address = new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
    }

    /// <summary>The h2c endpoint.</summary>
    public Uri Address { get; }

    /// <summary>Whether the server serves its generated chat model (gpt2-gettysburg); off unless a test class needs it.</summary>
    protected virtual bool ServeChatModel => false;

    /// <summary>A channel to the server; calls through <see cref="Invoker"/> carry a key.</summary>
    public GrpcChannel Channel => _channel ??= GrpcChannel.ForAddress(Address, new GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });

    /// <summary>Calls that send <paramref name="key"/> as <c>x-api-key</c> (none when null).</summary>
    public CallInvoker Invoker(string? key = AdminKey) =>
        key is null ? Channel.CreateCallInvoker() : Channel.Intercept(metadata =>
        {
            metadata.Add("x-api-key", key);
            return metadata;
        });

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("urls", "http://127.0.0.1:0"); // keeps the sample off its default ports; the Listen above replaces it
        builder.UseSetting("ModelKit:DataDirectory", _dir.Path);
        builder.UseSetting("ModelKit:ServeMiniLm", "false");
        builder.UseSetting("ModelKit:ServeChatModel", ServeChatModel ? "true" : "false");
        builder.UseSetting("ModelKit:Grpc:MaxReceiveMessageBytes", MaxReceiveMessageBytes.ToString(System.Globalization.CultureInfo.InvariantCulture));
        // No autoscaling: the demo deployments keep their replica count, so that two views of one deployment taken a moment
        // apart (gRPC and REST) agree whatever the machine's speed.
        builder.UseSetting("ModelKit:Deployments:AutoscaleInterval", "01:00:00");
        builder.UseEnvironment("Development");
    }

    /// <summary>Waits until the demo deployment of <paramref name="modelId"/> reports running (through the Core service).</summary>
    public async Task WaitUntilRunningAsync(string modelId)
    {
        var deployments = Services.GetRequiredService<ModelKit.Deployments.IDeploymentManager>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (deployments.FindByModel(modelId) is not { State: ModelKit.Deployments.DeploymentState.Running })
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{modelId} did not come up.");
            await Task.Delay(50);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _channel?.Dispose();
        base.Dispose(disposing);
        if (disposing) _dir.Dispose();
    }
}
