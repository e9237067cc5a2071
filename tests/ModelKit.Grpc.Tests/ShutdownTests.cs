using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelKit.Grpc.Inference;

namespace ModelKit.Grpc.Tests;

/// <summary>A stream open when the host stops ends at once with UNAVAILABLE, rather than holding the shutdown.</summary>
public sealed class ShutdownTests
{
    [Fact]
    public async Task ModelStreamInfer_WhenTheHostStops_EndsWithUnavailable()
    {
        using var server = new GrpcSampleServer();
        await server.WaitUntilRunningAsync("demo-mlp");
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(server.Invoker());
        using var call = client.ModelStreamInfer();
        var row = new float[64];
        await call.RequestStream.WriteAsync(new ModelInferRequest
        {
            ModelName = "demo-mlp",
            Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, 64 } } },
            RawInputContents = { ByteString.CopyFrom(MemoryMarshal.AsBytes(row.AsSpan())) },
        });
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.NotNull(call.ResponseStream.Current.InferResponse);

        // The client keeps its side open; the host is asked to stop.
        server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext(limit.Token));
        // Both in one message, so that a failure says which status came instead and why (seen once in 16 runs of the
        // project's tests on 2 cores, not yet explained).
        Assert.True(
            error.StatusCode == StatusCode.Unavailable && error.Status.Detail.Contains("The server is stopping", StringComparison.Ordinal),
            $"expected UNAVAILABLE, 'The server is stopping …'; got {error.StatusCode}: {error.Status.Detail} ({error.Status.DebugException?.GetType().Name}: {error.Status.DebugException?.Message})");
    }
}
