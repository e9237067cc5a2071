using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Caching;
using ModelKit.Cluster;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests.Cluster;

/// <summary>
/// Three ModelKit nodes as one cluster (in this process, each with its own Orleans silo on a loopback port and its own
/// data directory, membership and registry in one PostgreSQL database): six models, a cache of two models per node,
/// every model answering through every node with ONNX Runtime's own answer, each held by one node with no evictions and
/// its file fetched from the node it was registered through, and a node that leaves has its models placed again.
/// </summary>
public sealed class ClusterTests(PostgresServer database) : IClassFixture<PostgresServer>
{
    private const int Models = 6;
    private static readonly float[] Row = [.. Enumerable.Range(0, 64).Select(i => (i % 7) / 7f)];

    private static byte[] Model(int i) => DemoModels.CreateMlp(new MlpSpec { Seed = 100 + i });

    // What ONNX Runtime itself answers for model i, for the row.
    private static float[] Expected(int i)
    {
        using var session = new InferenceSession(Model(i));
        using var input = OrtValue.CreateTensorValueFromMemory(Row, [1, 64]);
        using var outputs = session.Run(new RunOptions(), ["x"], [input], ["logits"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static async Task<float[]> InferAsync(ClusterNode node, string modelId)
    {
        var inference = node.Services.GetRequiredService<IInferenceService>();
        var result = await inference.InferAsync(new InferenceRequest
        {
            ModelId = modelId,
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row, 1, 64) },
        });
        return result.Outputs["logits"].ToArray<float>();
    }

    [Fact]
    public async Task ThreeNodes_SixModels_TwoPerCache_EveryModelAnswersThroughEveryNode_AndANodeLeavingHasItsModelsPlacedAgain()
    {
        using var dir = new TempDirectory();
        // Each node has a data directory of its own: the files are registered through node 0, and the others fetch what
        // they are given to hold from it, by hash, over the cluster.
        // One copy of each upload (FileCopies = 1): the test counts the files each node fetched to serve.
        var nodes = await ClusterNode.StartClusterAsync(database, dir.Path, count: 3, maxModels: 2, o => o.FileCopies = 1);
        try
        {

            var registry = nodes[0].Services.GetRequiredService<IModelRegistry>();
            var expected = new float[Models][];
            for (var i = 0; i < Models; i++)
            {
                await registry.RegisterAsync(new ModelDefinition { Id = $"mlp-{i}", Name = $"MLP {i}" }, new MemoryStream(Model(i)), "model.onnx");
                expected[i] = Expected(i);
            }

            // Every model through every node, twice: the same answer as ONNX Runtime's own, wherever the model runs.
            for (var round = 0; round < 2; round++)
            {
                foreach (var node in nodes)
                {
                    for (var i = 0; i < Models; i++) Assert.Equal(expected[i], await InferAsync(node, $"mlp-{i}"));
                }
            }

            // Each model is held by one node, two per node: each node's cache holds its own two and never evicted one.
            var placements = await nodes[0].Services.GetRequiredService<IGrainFactory>().GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).GetPlacementsAsync();
            Assert.Equal(Models, placements.Count);
            Assert.All(placements.Values, holders => Assert.Single(holders));
            foreach (var node in nodes)
            {
                var held = placements.Where(p => p.Value[0] == node.Key).Select(p => p.Key).Order().ToArray();
                Assert.Equal(2, held.Length);
                var cache = node.Services.GetRequiredService<IModelCache>().GetStats();
                Assert.Equal(held, cache.Entries.Select(e => e.Key.ModelId).Order().ToArray());
                Assert.Equal(0, cache.Evictions);
                if (node != nodes[0]) Assert.Equal(2, Directory.GetFiles(Path.Combine(dir.Path, $"node-{nodes.IndexOf(node)}", "blobs"), "*", SearchOption.AllDirectories).Length);
            }

            // A node leaves: its models are placed on the two others, and every model still answers through both.
            var leaving = nodes[2];
            var orphaned = placements.Where(p => p.Value[0] == leaving.Key).Select(p => p.Key).ToArray();
            nodes.Remove(leaving);
            await leaving.DisposeAsync();
            foreach (var node in nodes) await node.WaitForActiveMembersAsync(2);
            foreach (var node in nodes)
            {
                for (var i = 0; i < Models; i++) Assert.Equal(expected[i], await InferAsync(node, $"mlp-{i}"));
            }

            placements = await nodes[0].Services.GetRequiredService<IGrainFactory>().GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).GetPlacementsAsync();
            Assert.All(orphaned, id => Assert.Contains(Assert.Single(placements[id]), nodes.Select(n => n.Key)));
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task AnUploadIsCopiedToOneOtherNode_AndItsModelStillAnswersWhenTheNodeItWasUploadedThroughIsGone()
    {
        using var dir = new TempDirectory();
        var nodes = await ClusterNode.StartClusterAsync(database, dir.Path, count: 3, maxModels: 2); // FileCopies: 2, the default
        try
        {
            await nodes[0].Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = "kept", Name = "Kept" }, new MemoryStream(Model(7)), "model.onnx");
            int Files(int n) => Directory.Exists(Path.Combine(dir.Path, $"node-{n}", "blobs"))
                ? Directory.GetFiles(Path.Combine(dir.Path, $"node-{n}", "blobs"), "*", SearchOption.AllDirectories).Length : 0;

            // Before anything asked for the model, one other node (and only one) has fetched its file.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Files(1) + Files(2) < 1)
            {
                Assert.True(DateTime.UtcNow < deadline, "no other node copied the uploaded file within 30 s");
                await Task.Delay(100);
            }

            Assert.Equal((1, 1), (Files(0), Files(1) + Files(2)));

            // The node it was uploaded through leaves: the model answers through both others, with ONNX Runtime's answer.
            var leaving = nodes[0];
            nodes.Remove(leaving);
            await leaving.DisposeAsync();
            foreach (var node in nodes) await node.WaitForActiveMembersAsync(2);
            foreach (var node in nodes) Assert.Equal(Expected(7), await InferAsync(node, "kept"));
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task AVersionUploadedWhileTheNodeWasAlone_IsCopiedWhenAnotherJoins_AndAnswersAfterTheFirstIsGone()
    {
        using var dir = new TempDirectory();
        var nodes = await ClusterNode.StartClusterAsync(database, dir.Path, count: 1, maxModels: 2); // FileCopies: 2, the default
        try
        {
            // Uploaded while no other node could take a copy.
            await nodes[0].Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = "alone", Name = "Alone" }, new MemoryStream(Model(8)), "model.onnx");
            var joinedDirectory = Path.Combine(dir.Path, "joined", "blobs");
            int Files() => Directory.Exists(joinedDirectory) ? Directory.GetFiles(joinedDirectory, "*", SearchOption.AllDirectories).Length : 0;

            // A node joins: before anything asks it for the model, it has a copy of the file.
            nodes.Add(await ClusterNode.StartAsync(nodes[0].ConnectionString, nodes[0].ClusterId, Path.Combine(dir.Path, "joined"), maxModels: 2));
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Files() < 1)
            {
                Assert.True(DateTime.UtcNow < deadline, "the joining node did not get a copy of the version uploaded before it joined within 30 s");
                await Task.Delay(100);
            }

            // The first node leaves for good: the model answers through the one that joined, with ONNX Runtime's answer.
            var leaving = nodes[0];
            nodes.Remove(leaving);
            await leaving.DisposeAsync();
            Directory.Delete(Path.Combine(dir.Path, "node-0"), recursive: true);
            await nodes[0].WaitForActiveMembersAsync(1);
            Assert.Equal(Expected(8), await InferAsync(nodes[0], "alone"));
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}
