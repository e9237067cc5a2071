using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelKit.Caching;
using ModelKit.Cluster;
using ModelKit.Deployments;
using Orleans.Runtime;

namespace ModelKit.Tests.Cluster;

/// <summary>
/// One ModelKit node of a test cluster, hosted in this process: ONNX Runtime, the registry in PostgreSQL, the cluster's
/// membership in the same database, node-to-node traffic over a loopback port of its own, a cache of at most
/// <c>maxModels</c> models, and the data directory it is given.
/// </summary>
internal sealed class ClusterNode : IAsyncDisposable
{
    private ClusterNode(IHost host, int port, string connectionString, string clusterId)
    {
        Host = host;
        Port = port;
        ConnectionString = connectionString;
        ClusterId = clusterId;
    }

    /// <summary>The cluster's database (membership, registry, saved deployments).</summary>
    public string ConnectionString { get; }

    public string ClusterId { get; }

    public IHost Host { get; }

    public int Port { get; }

    public IServiceProvider Services => Host.Services;

    public string Key => Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();

    public static async Task<ClusterNode> StartAsync(
        string connectionString, string clusterId, string dataDirectory, int maxModels, Action<ModelKitClusterOptions>? configure = null, string? registryConnectionString = null)
    {
        var port = LocalProcesses.FreePort();
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning); // Orleans logs every membership change at Information
        builder.Services.AddModelKit(o => o.DataDirectory = dataDirectory)
            .AddOnnxRuntime()
            .AddPostgreSqlRegistry(registryConnectionString ?? connectionString)
            .AddCluster(o =>
            {
                o.ConnectionString = connectionString;
                o.ClusterId = clusterId;
                o.AdvertisedAddress = "127.0.0.1";
                o.NodePort = port;
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                configure?.Invoke(o);
            });
        builder.Services.Configure<ModelCacheOptions>(o => o.MaxModels = maxModels);
        builder.Services.Configure<DeploymentOptions>(o => o.Persist = false);
        var host = builder.Build();
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        return new ClusterNode(host, port, connectionString, clusterId);
    }

    /// <summary>
    /// <paramref name="count"/> nodes of a new cluster on a new database of <paramref name="database"/>, each with a data
    /// directory of its own under <paramref name="root"/> (<c>node-0</c>, …), or all with <c>shared</c> there when
    /// <paramref name="sharedData"/>, every one seeing all as active; the registry in the same database, or in
    /// <paramref name="registryConnectionString"/>'s. Dispose them.
    /// </summary>
    public static async Task<List<ClusterNode>> StartClusterAsync(
        PostgresServer database, string root, int count, int maxModels, Action<ModelKitClusterOptions>? configure = null, bool sharedData = false,
        string? registryConnectionString = null)
    {
        string connectionString;
        await using (var source = await database.CreateDatabaseAsync()) connectionString = source.ConnectionString;
        var clusterId = "test-" + Guid.NewGuid().ToString("N")[..8];
        var nodes = new List<ClusterNode>();
        try
        {
            for (var n = 0; n < count; n++) nodes.Add(await StartAsync(connectionString, clusterId, Path.Combine(root, sharedData ? "shared" : $"node-{n}"), maxModels, configure, registryConnectionString));
            foreach (var node in nodes) await node.WaitForActiveMembersAsync(count);
            return nodes;
        }
        catch
        {
            foreach (var node in nodes) await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until this node sees <paramref name="count"/> active members.</summary>
    public async Task WaitForActiveMembersAsync(int count)
    {
        var membership = Services.GetRequiredService<IClusterMembershipService>();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active) != count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The node saw {membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active)} active members, not {count}.");
            await membership.Refresh();
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Host.StopAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            Host.Dispose();
        }
    }
}
