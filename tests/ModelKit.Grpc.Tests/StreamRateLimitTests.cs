using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Hosting;
using ModelKit.Grpc.Inference;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// ModelStreamInfer counts each message against the key's rate limit, as REST counts each request: one stream cannot
/// carry more inferences than the key's budget.
/// </summary>
public sealed class StreamRateLimitTests(StreamRateLimitTests.LimitedServer server) : IClassFixture<StreamRateLimitTests.LimitedServer>
{
    [Fact]
    public async Task ModelStreamInfer_MessagesBeyondTheKeysBudget_AreRateLimited_AndTheStreamGoesOn()
    {
        await server.WaitUntilRunningAsync("demo-mlp");
        var client = new GRPCInferenceService.GRPCInferenceServiceClient(server.Invoker());
        using var call = client.ModelStreamInfer();
        var row = new float[64];
        var request = new ModelInferRequest
        {
            ModelName = "demo-mlp",
            Inputs = { new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 1, 64 } } },
            RawInputContents = { ByteString.CopyFrom(MemoryMarshal.AsBytes(row.AsSpan())) },
        };
        for (var i = 0; i < 5; i++) await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();

        var answers = new List<ModelStreamInferResponse>();
        while (await call.ResponseStream.MoveNext(CancellationToken.None)) answers.Add(call.ResponseStream.Current);

        // A budget of 4 a minute: the call itself took one, three messages are answered, the last two are refused.
        Assert.Equal(5, answers.Count);
        Assert.All(answers.Take(3), a => Assert.NotNull(a.InferResponse));
        Assert.All(answers.Skip(3), a => Assert.StartsWith("RATE_LIMITED: ", a.ErrorMessage, StringComparison.Ordinal));
    }

    /// <summary>The sample server with a budget of four requests a minute per key.</summary>
    public sealed class LimitedServer : GrpcSampleServer
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Auth:RequestsPerMinute", "4");
        }
    }
}
