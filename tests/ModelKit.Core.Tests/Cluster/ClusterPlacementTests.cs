using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Cluster;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests.Cluster;

/// <summary>
/// What placement and the routers keep, over time: a model nobody asks about is forgotten by placement (its holders no
/// longer listed or counted) and, asked again, goes back to the node that still has it loaded; and a node under many
/// concurrent requests asks placement again once per interval, not once per request that finds the route due.
/// </summary>
public sealed class ClusterPlacementTests(PostgresServer database) : IClassFixture<PostgresServer>
{
    private static readonly float[] Row = [.. Enumerable.Range(0, 64).Select(i => (i % 5) / 5f)];

    private static async Task<float[]> InferAsync(ClusterNode node, string modelId) =>
        (await node.Services.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = modelId,
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row, 1, 64) },
        })).Outputs["logits"].ToArray<float>();

    private static Task<Dictionary<string, string[]>> PlacementsAsync(ClusterNode node) =>
        node.Services.GetRequiredService<IGrainFactory>().GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).GetPlacementsAsync();

    [Fact]
    public async Task AModelNobodyAsksAboutIsForgotten_AndAskedAgainGoesBackToTheNodeWhereItIsStillLoaded()
    {
        using var dir = new TempDirectory();
        var nodes = await ClusterNode.StartClusterAsync(database, dir.Path, count: 2, maxModels: 4, o =>
        {
            o.PlacementForgetAfter = TimeSpan.FromSeconds(2);
            o.PlacementCacheInterval = TimeSpan.FromMilliseconds(200);
        }, sharedData: true);
        try
        {
            await nodes[0].Services.GetRequiredService<IModelRegistry>().RegisterAsync(
                new ModelDefinition { Id = "a", Name = "A" }, new MemoryStream(DemoModels.CreateMlp(new MlpSpec { Seed = 3 })), "model.onnx");
            var expected = await InferAsync(nodes[0], "a");
            var holder = Assert.Single((await PlacementsAsync(nodes[0]))["a"]);
            var holderNode = nodes.Single(n => n.Key == holder);
            Assert.Contains("a", holderNode.Services.GetRequiredService<ModelKit.Caching.IModelCache>().GetStats().Entries.Select(e => e.Key.ModelId));

            // Nobody asks: placement forgets it (and no longer counts its room on the holder).
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while ((await PlacementsAsync(nodes[1])).ContainsKey("a"))
            {
                Assert.True(DateTime.UtcNow < deadline, "placement still lists the model nobody asked about");
                await Task.Delay(250);
            }

            // Asked again through the other node: placed on the node that still has it loaded, not on the emptier one.
            var other = nodes.Single(n => n.Key != holder);
            Assert.Equal(expected, await InferAsync(other, "a"));
            Assert.Equal([holder], (await PlacementsAsync(nodes[0]))["a"]);
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task ManyConcurrentRequests_AskPlacementAgainAboutOncePerInterval()
    {
        using var dir = new TempDirectory();
        var interval = TimeSpan.FromMilliseconds(100);
        var nodes = await ClusterNode.StartClusterAsync(database, dir.Path, count: 2, maxModels: 4, o => o.PlacementCacheInterval = interval, sharedData: true);
        try
        {
            await nodes[0].Services.GetRequiredService<IModelRegistry>().RegisterAsync(
                new ModelDefinition { Id = "a", Name = "A" }, new MemoryStream(DemoModels.CreateMlp(new MlpSpec { Seed = 4 })), "model.onnx");
            var expected = await InferAsync(nodes[0], "a");

            // Node 0's route refreshes, counted from its own meter.
            var meterFactory = nodes[0].Services.GetRequiredService<IMeterFactory>();
            long refreshes = 0;
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "modelkit.cluster.route_refreshes" && ReferenceEquals(instrument.Meter.Scope, meterFactory)) l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref refreshes, value));
            listener.Start();

            // 32 callers through node 0 for 3 s.
            var watch = System.Diagnostics.Stopwatch.StartNew();
            long requests = 0;
            var callers = Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
            {
                while (watch.Elapsed < TimeSpan.FromSeconds(3))
                {
                    Assert.Equal(expected, await InferAsync(nodes[0], "a"));
                    Interlocked.Increment(ref requests);
                }
            })).ToArray();
            await Task.WhenAll(callers);
            var elapsed = watch.Elapsed;

            // One refresh per interval at most, whatever the number of callers (plus one in flight at either end).
            var most = (long)(elapsed / interval) + 2;
            Assert.True(requests > 10 * most, $"only {requests} requests in {elapsed.TotalSeconds:F1} s: too few to show anything");
            Assert.InRange(Interlocked.Read(ref refreshes), 1, most);
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}
