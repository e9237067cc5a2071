using System.Net;
using System.Text.Json;
using ModelKit.ModelGenerator;
using ModelKit.Peers;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.Peers;

/// <summary>
/// The benchmarks' peers (benchmarks/peers: the hand-written server, the ML.NET one and the Node.js one) answer seed 000's inference
/// request as ModelKit does, for the same model and body, over real sockets: a comparison measures the same work.
/// </summary>
public sealed class PeerServerTests : IClassFixture<KestrelSampleServerFactory>
{
    private readonly KestrelSampleServerFactory _factory;

    public PeerServerTests(KestrelSampleServerFactory factory) => _factory = factory;

    [Theory]
    [InlineData("hand-written")]
    [InlineData("ml.net")]
    public async Task DemoMlp_SameBody_SameLogitsAsModelKit(string kind)
    {
        var client = _factory.CreateClient();
        await _factory.WaitUntilRunningAsync(client, "demo-mlp");
        using var dir = new TempDirectory();
        var model = Path.Combine(dir.Path, "model.onnx");
        await File.WriteAllBytesAsync(model, DemoModels.CreateMlp()); // the sample's demo-mlp: the same generator, the same weights
        await using var peer = kind == "ml.net"
            ? MlNetPeer.Build(model, "demo-mlp", ["--urls", "http://127.0.0.1:0"])
            : HandWrittenPeer.Build(model, "demo-mlp", ["--urls", "http://127.0.0.1:0"]);
        await peer.StartAsync();
        using var peerClient = new HttpClient { BaseAddress = new Uri(peer.Urls.First()) };
        await AssertSameLogitsAsync(client, peerClient);
    }

    // The Node.js peer (benchmarks/peers/NodeServer: onnxruntime-node behind Node's http server), installed from npm on
    // first use as compare-rest.sh does, started as its own process.
    [Fact]
    public async Task NodePeer_DemoMlp_SameBody_SameLogitsAsModelKit()
    {
        var peerDirectory = await LocalProcesses.NodePeerAsync();

        var client = _factory.CreateClient();
        await _factory.WaitUntilRunningAsync(client, "demo-mlp");
        using var dir = new TempDirectory();
        var model = Path.Combine(dir.Path, "model.onnx");
        await File.WriteAllBytesAsync(model, DemoModels.CreateMlp());
        var port = LocalProcesses.FreePort();
        using var node = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("node", [Path.Combine(peerDirectory, "server.js"), model, "demo-mlp", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            var ready = await node.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(ready is not null && ready.Contains("node peer: demo-mlp", StringComparison.Ordinal), $"the Node peer did not start: {ready}");
            using var peerClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
            await AssertSameLogitsAsync(client, peerClient);

            // The same kept-alive connection still answers after the 404 (whose body the peer must read away), and bad JSON is a 400.
            Assert.Equal(HttpStatusCode.BadRequest, (await peerClient.PostAsync("/api/v1/models/demo-mlp/inference", Json("{bad"))).StatusCode);
        }
        finally
        {
            node.Kill();
            await node.WaitForExitAsync();
        }
    }

    private static async Task AssertSameLogitsAsync(HttpClient client, HttpClient peerClient)
    {
        var body = $$"""{"input_data": [[{{string.Join(", ", Enumerable.Range(1, 64).Select(i => (i / 64.0).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)))}}], [{{string.Join(", ", Enumerable.Repeat("0.5", 64))}}]]}""";
        var ours = await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", Json(body)), HttpStatusCode.OK);
        var theirs = await ExpectAsync(await peerClient.PostAsync("/api/v1/models/demo-mlp/inference", Json(body)), HttpStatusCode.OK);
        foreach (var field in new[] { "request_id", "model_id", "output_data", "processing_time", "timestamp" }) Assert.True(theirs.TryGetProperty(field, out _), field);

        var (ourLogits, theirLogits) = (ours.GetProperty("output_data").GetProperty("logits"), theirs.GetProperty("output_data").GetProperty("logits"));
        Assert.Equal(Ints(ourLogits.GetProperty("shape")), Ints(theirLogits.GetProperty("shape")));
        Assert.Equal([2, 10], Ints(theirLogits.GetProperty("shape")));
        var (a, b) = (Floats(ourLogits.GetProperty("data")), Floats(theirLogits.GetProperty("data")));
        Assert.Equal(a.Length, b.Length);
        for (var i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 4);
        Assert.Contains(b, v => Math.Abs(v) > 1e-3); // real logits, not zeros

        // An id it does not serve is a 404, as ModelKit's.
        Assert.Equal(HttpStatusCode.NotFound, (await peerClient.PostAsync("/api/v1/models/ghost/inference", Json(body))).StatusCode);
    }

    // The data may come flat or nested by the shape; either way, the numbers in order.
    private static float[] Floats(JsonElement data) => data.ValueKind == JsonValueKind.Array
        ? [.. data.EnumerateArray().SelectMany(e => e.ValueKind == JsonValueKind.Array ? Floats(e) : [e.GetSingle()])]
        : [];

    private static long[] Ints(JsonElement shape) => [.. shape.EnumerateArray().Select(e => e.GetInt64())];
}
