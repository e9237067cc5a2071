using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Cluster;
using ModelKit.Deployments;
using Npgsql;
using Orleans.Runtime;

namespace ModelKit.Tests.Cluster;

/// <summary>
/// The cluster's saved deployments in PostgreSQL: a node's rows follow its list; a row moved to another node (a
/// take-over) is no longer written or deleted by the node it was moved from, so a node declared dead that still saves
/// cannot take a deployment back.
/// </summary>
public sealed class ClusterDeploymentStoreTests(PostgresServer database) : IClassFixture<PostgresServer>
{
    private sealed class Silo(int port) : ILocalSiloDetails
    {
        public string Name => "test";

        public string ClusterId => "store-test";

        public string DnsHostName => "localhost";

        public SiloAddress SiloAddress { get; } = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), 1);

        public SiloAddress GatewayAddress => SiloAddress;
    }

    private static PersistedDeployment Record(string id, int replicas = 1) => new()
    {
        DeploymentId = id,
        ModelId = "model-" + id,
        Version = "1",
        Device = "cpu",
        Replicas = replicas,
        MinReplicas = replicas,
        MaxReplicas = replicas,
        Running = true,
        CreatedAt = DateTimeOffset.UtcNow,
    };

    private static async Task<Dictionary<string, (string Node, int Replicas)>> RowsAsync(NpgsqlDataSource source) =>
        (await ClusterDeploymentStore.ListAsync(source, "store-test", CancellationToken.None))
        .ToDictionary(r => r.DeploymentId, r => (r.Node, ClusterDeploymentStore.Deserialize(r.Record)!.Replicas));

    [Fact]
    public async Task ANodesRowsFollowItsList_AndARowMovedAwayIsNeitherWrittenNorDeletedByItsFormerNode()
    {
        await using var source = await database.CreateDatabaseAsync();
        await ClusterSchema.EnsureAsync(source, NullLogger.Instance, CancellationToken.None);
        var options = Options.Create(new ModelKitClusterOptions { ConnectionString = source.ConnectionString, ClusterId = "store-test" });
        await using var db = new ClusterDatabase(options);
        var a = new Silo(30001);
        var b = new Silo(30002);
        await using var storeA = new ClusterDeploymentStore(db, options, a, NullLogger<ClusterDeploymentStore>.Instance);
        var nodeA = a.SiloAddress.ToParsableString();
        var nodeB = b.SiloAddress.ToParsableString();

        // A node starts with nothing of its own; what it saves becomes its rows.
        Assert.Empty(storeA.Load());
        storeA.Save([Record("one"), Record("two")]);
        Assert.True(await storeA.FlushAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(new Dictionary<string, (string, int)> { ["one"] = (nodeA, 1), ["two"] = (nodeA, 1) }, await RowsAsync(source));

        // "two" is taken over by node B (the directory moves the row first); a move from a node that no longer has it fails.
        Assert.True(await ClusterDeploymentStore.MoveAsync(source, "store-test", "two", nodeA, nodeB, CancellationToken.None));
        Assert.False(await ClusterDeploymentStore.MoveAsync(source, "store-test", "two", nodeA, nodeB, CancellationToken.None));

        // Node A, not yet aware, saves "two" changed and then drops it: B's row is untouched both times; A's own row follows.
        storeA.Save([Record("one", replicas: 3), Record("two", replicas: 5)]);
        Assert.True(await storeA.FlushAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(new Dictionary<string, (string, int)> { ["one"] = (nodeA, 3), ["two"] = (nodeB, 1) }, await RowsAsync(source));
        storeA.Save([]);
        Assert.True(await storeA.FlushAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(new Dictionary<string, (string, int)> { ["two"] = (nodeB, 1) }, await RowsAsync(source));
    }
}
