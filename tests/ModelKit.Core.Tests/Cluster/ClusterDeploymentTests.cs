using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;
using Npgsql;

namespace ModelKit.Tests.Cluster;

/// <summary>
/// Deployments across a cluster of three nodes (in this process, membership, registry and saved deployments in one
/// PostgreSQL database): a deployment created through one node runs on one node and is seen, scaled, updated, stopped and
/// deleted through every node; requests for its model through any node are served by its replicas; two nodes deploying
/// the same model at once get one deployment; when its node leaves, another takes it over; a cluster started again
/// from nothing brings it back from the database; and a node that leaves while the registry (on a server of its own)
/// is down has its deployment taken over once the registry is back, not failed meanwhile.
/// </summary>
public sealed class ClusterDeploymentTests(PostgresServer database) : IClassFixture<PostgresServer>
{
    private static readonly float[] Row = [.. Enumerable.Range(0, 64).Select(i => (i % 5) / 5f)];

    private static byte[] Model(int seed) => DemoModels.CreateMlp(new MlpSpec { Seed = seed });

    private static float[] Expected(int seed)
    {
        using var session = new InferenceSession(Model(seed));
        using var input = OrtValue.CreateTensorValueFromMemory(Row, [1, 64]);
        using var outputs = session.Run(new RunOptions(), ["x"], [input], ["logits"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static async Task<(float[] Logits, string Version)> InferAsync(ClusterNode node, string modelId)
    {
        var result = await node.Services.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = modelId,
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row, 1, 64) },
        });
        return (result.Outputs["logits"].ToArray<float>(), result.Version);
    }

    private static IDeploymentManager Deployments(ClusterNode node) => node.Services.GetRequiredService<IDeploymentManager>();

    // The node whose own deployment manager runs the deployment (exactly one).
    private static ClusterNode HomeOf(IEnumerable<ClusterNode> nodes, string deploymentId) =>
        Assert.Single(nodes, n => n.Services.GetRequiredService<DeploymentManager>().FindDeployment(deploymentId) is not null);

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Not within {seconds} s: {what}.");
            await Task.Delay(100);
        }
    }

    private static async Task<List<(string Id, string Node)>> SavedAsync(ClusterNode node)
    {
        await using var source = NpgsqlDataSource.Create(node.ConnectionString);
        using var command = source.CreateCommand("SELECT deployment_id, node FROM modelkit_cluster_deployments WHERE cluster_id = @c ORDER BY deployment_id");
        command.Parameters.AddWithValue("c", node.ClusterId);
        using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string, string)>();
        while (await reader.ReadAsync()) rows.Add((reader.GetString(0), reader.GetString(1)));
        return rows;
    }

    [Fact]
    public async Task ADeploymentRunsOnOneNode_IsManagedThroughEvery_IsTakenOverWhenItsNodeLeaves_AndComesBackWithTheCluster()
    {
        using var dir = new TempDirectory();
        // One data directory for all (as a shared volume would be): a version's file outlives the node it was uploaded through.
        var nodes = await ClusterNode.StartClusterAsync(database, dir.Path, count: 3, maxModels: 2, o => o.DeploymentSyncInterval = TimeSpan.FromMilliseconds(200), sharedData: true);
        try
        {
            var registry = nodes[0].Services.GetRequiredService<IModelRegistry>();
            await registry.RegisterAsync(new ModelDefinition { Id = "ranker", Name = "Ranker" }, new MemoryStream(Model(301)), "model.onnx");
            await registry.AddVersionAsync("ranker", null, new MemoryStream(Model(302)), "model.onnx"); // version 2
            await registry.RegisterAsync(new ModelDefinition { Id = "tagger", Name = "Tagger" }, new MemoryStream(Model(303)), "model.onnx");
            var v1 = Expected(301);
            var v2 = Expected(302);

            // Deployed through node 2, at version 1; it runs on exactly one node and comes up there.
            var created = await Deployments(nodes[2]).DeployAsync(new DeploymentSpec { DeploymentId = "ranker-prod", ModelId = "ranker", Version = "1" });
            Assert.Equal("ranker-prod", created.DeploymentId);
            var running = await Deployments(nodes[1]).WaitUntilRunningAsync("ranker-prod");
            Assert.Equal(DeploymentState.Running, running.State);
            var home = HomeOf(nodes, "ranker-prod");
            var others = nodes.Where(n => n != home).ToList();

            // Every node sees it running, lists it, and finds it by model; none runs a second one.
            await WaitForAsync(() => Task.FromResult(nodes.All(n => n.Services.GetRequiredService<IDeploymentManager>().FindDeployment("ranker-prod")?.State == DeploymentState.Running)),
                "every node sees the deployment running");
            foreach (var node in nodes)
            {
                Assert.Equal("ranker-prod", Assert.Single(Deployments(node).ListDeployments()).DeploymentId);
                Assert.Equal("ranker-prod", Deployments(node).FindByModel("ranker")?.DeploymentId);
            }

            // Its model answers through every node with version 1's own answer, run by the deployment's node only.
            foreach (var node in nodes)
            {
                var (logits, version) = await InferAsync(node, "ranker");
                Assert.Equal(v1, logits);
                Assert.Equal("1", version);
            }

            foreach (var other in others)
            {
                Assert.DoesNotContain(other.Services.GetRequiredService<IModelCache>().GetStats().Entries, e => e.Key.ModelId == "ranker");
            }

            // A second deployment of the model, through another node, is refused; so is the same id for another model.
            await Assert.ThrowsAsync<ModelKitConflictException>(() => Deployments(others[0]).DeployAsync(new DeploymentSpec { ModelId = "ranker" }));
            await Assert.ThrowsAsync<ModelKitConflictException>(() => Deployments(others[1]).DeployAsync(new DeploymentSpec { DeploymentId = "ranker-prod", ModelId = "tagger" }));

            // Two nodes deploying the same model at the same moment: one deployment, one CONFLICT.
            var race = await Task.WhenAll(
                Attempt(() => Deployments(nodes[0]).DeployAsync(new DeploymentSpec { ModelId = "tagger" })),
                Attempt(() => Deployments(nodes[1]).DeployAsync(new DeploymentSpec { ModelId = "tagger" })));
            Assert.Single(race, r => r is DeploymentInfo);
            Assert.Single(race, r => r is ModelKitConflictException);
            var tagger = (DeploymentInfo)race.Single(r => r is DeploymentInfo);
            await Deployments(nodes[2]).DeleteAsync(tagger.DeploymentId);

            // Scaled, updated to version 2 (a rolling update on its node) and its log read, all through nodes that do not run it.
            var scaled = await Deployments(others[0]).ScaleAsync("ranker-prod", 2);
            Assert.Equal(2, scaled.DesiredReplicas);
            Assert.Equal(2, home.Services.GetRequiredService<DeploymentManager>().GetDeployment("ranker-prod").DesiredReplicas);
            var updated = await Deployments(others[1]).UpdateAsync("ranker-prod", new DeploymentUpdate { Version = "2" });
            Assert.Equal("2", updated.Version);
            Assert.Contains(await Deployments(others[0]).GetLogsAsync("ranker-prod"), l => l.Message.StartsWith("Rolling update to version 2", StringComparison.Ordinal));
            foreach (var node in nodes)
            {
                await WaitForAsync(async () => (await InferAsync(node, "ranker")).Version == "2", "version 2 answers through every node", 10);
                Assert.Equal(v2, (await InferAsync(node, "ranker")).Logits);
            }

            // The deployment is saved in the cluster's database as its node's.
            await WaitForAsync(async () => (await SavedAsync(home)).SequenceEqual([("ranker-prod", home.Key)]), "the deployment is saved as its node's");

            // Its node leaves: another takes it over (version 2, two replicas), and it answers through the nodes that remain.
            nodes.Remove(home);
            await home.DisposeAsync();
            await WaitForAsync(() => Task.FromResult(nodes.Any(n => n.Services.GetRequiredService<DeploymentManager>().FindDeployment("ranker-prod")?.State == DeploymentState.Running)),
                "another node runs the deployment", 60);
            var heir = HomeOf(nodes, "ranker-prod");
            var taken = Deployments(heir).GetDeployment("ranker-prod");
            Assert.Equal(("2", 2), (taken.Version, taken.DesiredReplicas));
            foreach (var node in nodes)
            {
                await WaitForAsync(async () => (await InferAsync(node, "ranker")).Version == "2", "the model answers after the take-over", 10);
                Assert.Equal(v2, (await InferAsync(node, "ranker")).Logits);
            }

            await WaitForAsync(async () => (await SavedAsync(heir)).SequenceEqual([("ranker-prod", heir.Key)]), "the deployment is saved as its new node's");

            // Stopped through the node that does not run it; every node sees it stopped.
            var survivor = nodes.Single(n => n != heir);
            Assert.Equal(DeploymentState.Stopped, (await Deployments(survivor).StopAsync("ranker-prod")).State);
            await Deployments(survivor).StartAsync("ranker-prod");
            await Deployments(survivor).WaitUntilRunningAsync("ranker-prod");

            // The whole cluster stops; a node of a new start brings the deployment back from the database.
            var connectionString = heir.ConnectionString;
            var clusterId = heir.ClusterId;
            foreach (var node in nodes) await node.DisposeAsync();
            nodes.Clear();
            nodes.Add(await ClusterNode.StartAsync(connectionString, clusterId, Path.Combine(dir.Path, "shared"), maxModels: 2, o => o.DeploymentSyncInterval = TimeSpan.FromMilliseconds(200)));
            await WaitForAsync(() => Task.FromResult(Deployments(nodes[0]).FindDeployment("ranker-prod")?.State == DeploymentState.Running), "the restarted cluster runs the deployment", 60);
            Assert.Equal(v2, (await InferAsync(nodes[0], "ranker")).Logits);

            // Deleted: gone from the node and from the database.
            await Deployments(nodes[0]).DeleteAsync("ranker-prod");
            Assert.Null(Deployments(nodes[0]).FindDeployment("ranker-prod"));
            await WaitForAsync(async () => (await SavedAsync(nodes[0])).Count == 0, "the deleted deployment is gone from the database");
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task ItsNodeLeavesWhileTheRegistryIsDown_TheDeploymentIsNotFailed_AndRunsOnAnotherNodeOnceTheRegistryIsBack()
    {
        using var dir = new TempDirectory();
        // The registry on a server of its own, so that it can go away while membership and the saved deployments stay.
        var registryServer = new PostgresServer();
        await registryServer.InitializeAsync();
        List<ClusterNode> nodes = [];
        try
        {
            string registryConnection;
            await using (var source = await registryServer.CreateDatabaseAsync()) registryConnection = source.ConnectionString;
            nodes = await ClusterNode.StartClusterAsync(database, dir.Path, count: 2, maxModels: 2, o => o.DeploymentSyncInterval = TimeSpan.FromMilliseconds(200),
                sharedData: true, registryConnectionString: registryConnection);
            await nodes[0].Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = "scorer", Name = "Scorer" }, new MemoryStream(Model(311)), "model.onnx");
            await Deployments(nodes[0]).DeployAsync(new DeploymentSpec { DeploymentId = "scorer-prod", ModelId = "scorer" });
            await Deployments(nodes[1]).WaitUntilRunningAsync("scorer-prod");
            var home = HomeOf(nodes, "scorer-prod");
            var heir = nodes.Single(n => n != home);
            await WaitForAsync(async () => (await SavedAsync(heir)).SequenceEqual([("scorer-prod", home.Key)]), "the deployment is saved as its node's");

            // The registry goes away, then the deployment's node leaves. The other node cannot bring the deployment up
            // without the registry: it is not listed there as failed meanwhile (the take-over waits, every 3 s).
            NpgsqlConnection.ClearAllPools();
            await registryServer.StopAsync();
            nodes.Remove(home);
            await home.DisposeAsync();
            var waitedUntil = DateTime.UtcNow.AddSeconds(8);
            while (DateTime.UtcNow < waitedUntil)
            {
                Assert.NotEqual(DeploymentState.Failed, heir.Services.GetRequiredService<DeploymentManager>().FindDeployment("scorer-prod")?.State);
                await Task.Delay(100);
            }

            // The registry is back: the deployment runs on the other node and answers with ONNX Runtime's answer.
            await registryServer.StartAsync();
            await WaitForAsync(() => Task.FromResult(heir.Services.GetRequiredService<DeploymentManager>().FindDeployment("scorer-prod")?.State == DeploymentState.Running),
                "the other node runs the deployment once the registry is back", 60);
            Assert.Equal(Expected(311), (await InferAsync(heir, "scorer")).Logits);
            await WaitForAsync(async () => (await SavedAsync(heir)).SequenceEqual([("scorer-prod", heir.Key)]), "the deployment is saved as its new node's");
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
            await registryServer.DisposeAsync();
        }
    }

    private static async Task<object> Attempt(Func<Task<DeploymentInfo>> deploy)
    {
        try
        {
            return await deploy();
        }
        catch (ModelKitConflictException ex)
        {
            return ex;
        }
    }
}
