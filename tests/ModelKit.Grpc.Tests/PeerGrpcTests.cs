using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using ModelKit.Grpc.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Peers;
using ModelKit.Tests;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// The benchmarks' peers (benchmarks/peers: the hand-written server, the ML.NET one and the Node.js one) answer the Open
/// Inference Protocol's gRPC <c>ModelInfer</c> as ModelKit does, for the same model and request, in typed contents and in
/// <c>raw_input_contents</c>, over real h2c sockets: compare-rest.sh's gRPC rounds measure the same work everywhere.
/// </summary>
public sealed class PeerGrpcTests(GrpcSampleServer server) : IClassFixture<GrpcSampleServer>, IAsyncLifetime
{
    private const string Mlp = "demo-mlp";
    private static readonly float[] Rows = [.. Enumerable.Range(0, 128).Select(i => MathF.Cos(i) * 0.75f)]; // two rows of 64

    public Task InitializeAsync() => server.WaitUntilRunningAsync(Mlp);

    public Task DisposeAsync() => Task.CompletedTask;

    [Theory]
    [InlineData("hand-written")]
    [InlineData("ml.net")]
    public async Task DotNetPeer_ModelInfer_SameLogitsAsModelKit(string kind)
    {
        using var dir = new TempDirectory();
        var model = Path.Combine(dir.Path, "model.onnx");
        await File.WriteAllBytesAsync(model, DemoModels.CreateMlp()); // the sample's demo-mlp: the same generator, the same weights
        var port = LocalProcesses.FreePort();
        string[] args = [$"--Kestrel:Endpoints:Rest:Url=http://127.0.0.1:{LocalProcesses.FreePort()}", $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{port}", "--Kestrel:Endpoints:Grpc:Protocols=Http2"];
        await using var peer = kind == "ml.net" ? MlNetPeer.Build(model, Mlp, args) : HandWrittenPeer.Build(model, Mlp, args);
        await peer.StartAsync();
        await AssertSameAnswersAsync(port);
    }

    // The Node.js peer (onnxruntime-node, @grpc/grpc-js loading ModelKit's grpc_service.proto), installed from npm on first
    // use as compare-rest.sh does, started as its own process with a gRPC port.
    [Fact]
    public async Task NodePeer_ModelInfer_SameLogitsAsModelKit()
    {
        var peerDirectory = await LocalProcesses.NodePeerAsync();

        using var dir = new TempDirectory();
        var model = Path.Combine(dir.Path, "model.onnx");
        await File.WriteAllBytesAsync(model, DemoModels.CreateMlp());
        var port = LocalProcesses.FreePort();
        var start = new System.Diagnostics.ProcessStartInfo("node", [Path.Combine(peerDirectory, "server.js"), model, Mlp, LocalProcesses.FreePort().ToString(CultureInfo.InvariantCulture), port.ToString(CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
        };
        using var node = System.Diagnostics.Process.Start(start)!;
        try
        {
            await WaitForPortAsync(port);
            await AssertSameAnswersAsync(port);
        }
        finally
        {
            node.Kill();
            await node.WaitForExitAsync();
        }
    }

    // The peer's answers to a typed and a raw request equal ModelKit's gRPC answers to the same requests; a model it does
    // not serve is NOT_FOUND, as ModelKit's.
    private async Task AssertSameAnswersAsync(int port)
    {
        var ours = new GRPCInferenceService.GRPCInferenceServiceClient(server.Invoker());
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var theirs = new GRPCInferenceService.GRPCInferenceServiceClient(channel);
        foreach (var raw in new[] { false, true })
        {
            var request = Request(Mlp, raw);
            var (a, b) = (await ours.ModelInferAsync(request), await theirs.ModelInferAsync(request));
            var (x, y) = (Assert.Single(a.Outputs), Assert.Single(b.Outputs));
            Assert.Equal((x.Name, x.Datatype), (y.Name, y.Datatype));
            Assert.Equal([2L, 10L], y.Shape);
            Assert.Equal(Mlp, b.ModelName);
            var (ourLogits, theirLogits) = (Logits(a, raw), Logits(b, raw));
            Assert.Equal(20, theirLogits.Length);
            for (var i = 0; i < ourLogits.Length; i++) Assert.Equal(ourLogits[i], theirLogits[i], 4);
            Assert.Contains(theirLogits, v => Math.Abs(v) > 1e-3); // real logits, not zeros
        }

        var missing = await Assert.ThrowsAsync<RpcException>(async () => await theirs.ModelInferAsync(Request("ghost", raw: true)));
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    private static ModelInferRequest Request(string model, bool raw)
    {
        var input = new ModelInferRequest.Types.InferInputTensor { Name = "x", Datatype = "FP32", Shape = { 2, 64 } };
        var request = new ModelInferRequest { ModelName = model, Inputs = { input } };
        if (raw) request.RawInputContents.Add(ByteString.CopyFrom(MemoryMarshal.AsBytes(Rows.AsSpan())));
        else input.Contents = new InferTensorContents { Fp32Contents = { Rows } };
        return request;
    }

    // Raw requests are answered in raw_output_contents, typed ones in typed contents, by ModelKit and by each peer.
    private static float[] Logits(ModelInferResponse response, bool raw)
    {
        if (!raw) return [.. Assert.Single(response.Outputs).Contents.Fp32Contents];
        return MemoryMarshal.Cast<byte, float>(Assert.Single(response.RawOutputContents).Span).ToArray();
    }

    private static async Task WaitForPortAsync(int port)
    {
        for (var i = 0; i < 300; i++)
        {
            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(100);
            }
        }

        Assert.Fail($"Nothing listened on {port} after 30 s.");
    }

}
