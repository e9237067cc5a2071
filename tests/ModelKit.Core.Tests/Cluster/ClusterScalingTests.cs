using Microsoft.Extensions.DependencyInjection;
using ModelKit.Cluster;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests.Cluster;

/// <summary>
/// Placement follows load: a model whose holder's queue stays long is placed on more nodes (up to MaxHoldersPerModel),
/// and once its queues have been empty for ScaleDownAfter it goes back to one holder.
/// </summary>
public sealed class ClusterScalingTests(PostgresServer database) : IClassFixture<PostgresServer>
{
    // Slow enough (a 1024→8192→10 MLP, a few ms a row on two cores) that concurrent callers queue at its holder.
    private static readonly byte[] Model = DemoModels.CreateMlp(new MlpSpec { Inputs = 1024, Hidden = 8192, Seed = 7 });
    private static readonly float[] Row = [.. Enumerable.Range(0, 1024).Select(i => (i % 11) / 11f)];

    private static Task<InferenceResult> InferAsync(ClusterNode node) =>
        node.Services.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = "slow",
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row, 1, 1024) },
        });

    private static async Task<int> HoldersAsync(ClusterNode node) =>
        (await node.Services.GetRequiredService<IGrainFactory>().GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).GetPlacementsAsync())
            .TryGetValue("slow", out var holders) ? holders.Length : 0;

    [Fact]
    public async Task BusyModel_GetsMoreHolders_AndGoesBackToOneWhenIdle()
    {
        using var dir = new TempDirectory();
        var nodes = await ClusterNode.StartClusterAsync(database, dir.Path, count: 3, maxModels: 4, o =>
        {
            o.MaxHoldersPerModel = 3;
            o.ScaleUpQueueLength = 2;
            o.ScaleInterval = TimeSpan.FromMilliseconds(500);
            o.ScaleDownAfter = TimeSpan.FromSeconds(2);
            o.PlacementCacheInterval = TimeSpan.FromMilliseconds(200);
        });
        try
        {
            await nodes[0].Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = "slow", Name = "Slow" }, new MemoryStream(Model), "model.onnx");
            var expected = (await InferAsync(nodes[0])).Outputs["logits"].ToArray<float>();
            Assert.Equal(1, await HoldersAsync(nodes[0]));

            // 24 callers through the three nodes until the model has more than one holder (or 30 s pass).
            using (var stop = new CancellationTokenSource())
            {
                var load = Enumerable.Range(0, 24).Select(caller => Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested) Assert.Equal(expected, (await InferAsync(nodes[caller % 3])).Outputs["logits"].ToArray<float>());
                })).ToArray();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (await HoldersAsync(nodes[0]) < 2 && DateTime.UtcNow < deadline) await Task.Delay(200);
                await stop.CancelAsync();
                await Task.WhenAll(load);
            }

            Assert.True(await HoldersAsync(nodes[0]) >= 2, "the busy model was not placed on a second node");

            // Idle, then a request now and then: back to one holder.
            var idleDeadline = DateTime.UtcNow.AddSeconds(30);
            while (await HoldersAsync(nodes[0]) > 1 && DateTime.UtcNow < idleDeadline)
            {
                await Task.Delay(500);
                Assert.Equal(expected, (await InferAsync(nodes[1])).Outputs["logits"].ToArray<float>());
            }

            Assert.Equal(1, await HoldersAsync(nodes[0]));
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}
