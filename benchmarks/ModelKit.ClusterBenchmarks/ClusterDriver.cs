using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Caching;
using ModelKit.Cluster;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;
using Orleans.Runtime;

namespace ModelKit.ClusterBenchmarks;

/// <summary>
/// The cluster's two costs and its one gain, on nodes hosted in this process (each its own Orleans silo on a loopback port,
/// registry and membership in the PostgreSQL database given): (1) the latency a forwarded request adds over one served
/// where it arrives, p50/p95/p99, one caller and eight, beside a plain ONNX Runtime run; (2) how many models one node
/// and a three-node cluster serve round-robin without evicting, each node's cache holding <c>budget</c> models. Every
/// answer is checked against ONNX Runtime's own.
/// </summary>
internal static class ClusterDriver
{
    private static readonly float[] Row = [.. Enumerable.Range(0, 64).Select(i => (i % 9) / 9f)];

    public static async Task<int> RunAsync(string connectionString, int requests, int budget)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores, ONNX Runtime {Onnx.OnnxBackend.RuntimeVersion}, {DateTimeOffset.UtcNow:yyyy-MM-dd}; demo MLP (64→256→10), {requests} timed requests per point; load average {File.ReadAllText("/proc/loadavg").Trim()}"));
        await LatencyAsync(connectionString, requests);
        if (Environment.GetEnvironmentVariable("MODELKIT_BENCH_LATENCY_ONLY") != "1") await CapacityAsync(connectionString, budget);
        return 0;
    }

    private static byte[] Model(int i) => DemoModels.CreateMlp(new MlpSpec { Seed = 900 + i });

    private static async Task LatencyAsync(string connectionString, int requests)
    {
        await using var cluster = await Cluster.StartAsync(connectionString, nodes: 2, budget: 4);
        var a = cluster.Nodes[0];
        for (var i = 0; i < 4; i++) await cluster.RegisterAsync(i, Model(i));
        for (var i = 0; i < 4; i++) await InferAsync(a, i); // places every model
        var placements = await a.Services.GetRequiredService<IGrainFactory>().GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).GetPlacementsAsync();
        var local = Enumerable.Range(0, 4).First(i => placements[Id(i)][0] == a.Key());
        var forwarded = Enumerable.Range(0, 4).First(i => placements[Id(i)][0] != a.Key());
        var expected = Direct(Model(local));
        Check(expected, await InferAsync(a, local));
        Check(Direct(Model(forwarded)), await InferAsync(a, forwarded));

        using var session = new InferenceSession(Model(local));
        Console.WriteLine();
        Console.WriteLine("Latency through node A's IInferenceService (µs), model held by A (local) or by B (forwarded over the cluster):");
        Console.WriteLine();
        Console.WriteLine("| callers | path | p50 | p95 | p99 | requests/s |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var callers in new[] { 1, 8 })
        {
            Print(callers, "ONNX Runtime, one Run per request", await MeasureAsync(callers, requests, () => { RunDirect(session); return Task.CompletedTask; }));
            Print(callers, "local (held by A)", await MeasureAsync(callers, requests, () => InferAsync(a, local)));
            Print(callers, "forwarded (held by B)", await MeasureAsync(callers, requests, () => InferAsync(a, forwarded)));
        }
    }

    private static async Task CapacityAsync(string connectionString, int budget)
    {
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Models served round-robin (3 passes after one warm pass) with each node's cache holding {budget} models; evictions during the timed passes:"));
        Console.WriteLine();
        Console.WriteLine("| nodes | models | evictions |");
        Console.WriteLine("|---|---|---|");
        foreach (var nodes in new[] { 1, 3 })
        {
            foreach (var models in new[] { budget, 2 * budget, 3 * budget, (3 * budget) + 2 })
            {
                await using var cluster = await Cluster.StartAsync(connectionString, nodes, budget);
                for (var i = 0; i < models; i++) await cluster.RegisterAsync(i, Model(i));
                for (var i = 0; i < models; i++) Check(Direct(Model(i)), await InferAsync(cluster.Nodes[i % nodes], i));
                var before = cluster.Nodes.Sum(n => n.Services.GetRequiredService<IModelCache>().GetStats().Evictions);
                for (var pass = 0; pass < 3; pass++)
                {
                    for (var i = 0; i < models; i++) await InferAsync(cluster.Nodes[(i + pass) % nodes], i);
                }

                var evictions = cluster.Nodes.Sum(n => n.Services.GetRequiredService<IModelCache>().GetStats().Evictions) - before;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {nodes} | {models} | {evictions} |"));
            }
        }
    }

    private static string Id(int i) => $"mlp-{i}";

    private static async Task<float[]> InferAsync(IHost node, int i)
    {
        var result = await node.Services.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = Id(i),
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row, 1, 64) },
        });
        return result.Outputs["logits"].ToArray<float>();
    }

    private static float[] Direct(byte[] model)
    {
        using var session = new InferenceSession(model);
        return RunDirect(session);
    }

    private static float[] RunDirect(InferenceSession session)
    {
        using var input = OrtValue.CreateTensorValueFromMemory(Row, [1, 64]);
        using var options = new RunOptions();
        using var outputs = session.Run(options, ["x"], [input], ["logits"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private static void Check(float[] expected, float[] actual)
    {
        if (!expected.SequenceEqual(actual)) throw new InvalidOperationException("An answer differs from ONNX Runtime's own.");
    }

    private static async Task<double[]> MeasureAsync(int callers, int requests, Func<Task> call)
    {
        for (var i = 0; i < 200; i++) await call(); // warm-up
        var latencies = new double[requests];
        var next = -1;
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            for (var k = Interlocked.Increment(ref next); k < requests; k = Interlocked.Increment(ref next))
            {
                var start = Stopwatch.GetTimestamp();
                await call();
                latencies[k] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
            }
        })));
        var elapsed = watch.Elapsed.TotalSeconds;
        Array.Sort(latencies);
        return [latencies[requests / 2], latencies[(int)(requests * 0.95)], latencies[(int)(requests * 0.99)], requests / elapsed];
    }

    private static void Print(int callers, string path, double[] figures) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {callers} | {path} | {figures[0]:F0} | {figures[1]:F0} | {figures[2]:F0} | {figures[3]:F0} |"));

    // Nodes in this process on one database (a cluster id and a data directory of their own).
    private sealed class Cluster : IAsyncDisposable
    {
        private readonly string _dataDirectory;
        private readonly string _adminConnectionString;
        private readonly string _database;

        private Cluster(List<IHost> nodes, string dataDirectory, string adminConnectionString, string database)
        {
            Nodes = nodes;
            _dataDirectory = dataDirectory;
            _adminConnectionString = adminConnectionString;
            _database = database;
        }

        public List<IHost> Nodes { get; }

        // A database of its own for each cluster (registry and membership), created on the server connectionString names.
        public static async Task<Cluster> StartAsync(string adminConnectionString, int nodes, int budget)
        {
            var clusterId = "bench-" + Guid.NewGuid().ToString("N")[..8];
            var database = "bench_" + clusterId[6..];
            await using (var admin = Npgsql.NpgsqlDataSource.Create(adminConnectionString))
            {
                await using var create = admin.CreateCommand($"CREATE DATABASE {database}");
                await create.ExecuteNonQueryAsync();
            }

            var connectionString = new Npgsql.NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database }.ConnectionString;
            var dataDirectory = Path.Combine(Path.GetTempPath(), "modelkit-bench-cluster", clusterId);
            var hosts = new List<IHost>();
            for (var n = 0; n < nodes; n++)
            {
                var builder = Host.CreateApplicationBuilder();
                builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Orleans", LogLevel.Error);
                builder.Services.AddModelKit(o => o.DataDirectory = dataDirectory)
                    .AddOnnxRuntime(o => o.IntraOpThreads = 1)
                    .AddPostgreSqlRegistry(connectionString)
                    .AddCluster(o =>
                    {
                        o.ConnectionString = connectionString;
                        o.ClusterId = clusterId;
                        o.AdvertisedAddress = "127.0.0.1";
                        o.NodePort = 0;
                    });
                builder.Services.Configure<ModelCacheOptions>(o => o.MaxModels = budget);
                builder.Services.Configure<DeploymentOptions>(o => o.Persist = false);
                var host = builder.Build();
                await host.StartAsync();
                hosts.Add(host);
            }

            var membership = hosts[0].Services.GetRequiredService<IClusterMembershipService>();
            while (membership.CurrentSnapshot.Members.Values.Count(m => m.Status == SiloStatus.Active) < nodes)
            {
                await membership.Refresh();
                await Task.Delay(100);
            }

            return new Cluster(hosts, dataDirectory, adminConnectionString, database);
        }

        public Task<ModelInfo> RegisterAsync(int i, byte[] model) =>
            Nodes[0].Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = Id(i), Name = Id(i) }, new MemoryStream(model), "model.onnx");

        public async ValueTask DisposeAsync()
        {
            foreach (var node in Nodes)
            {
                await node.StopAsync(TimeSpan.FromSeconds(20));
                node.Dispose();
            }

            Npgsql.NpgsqlConnection.ClearAllPools();
            await using (var admin = Npgsql.NpgsqlDataSource.Create(_adminConnectionString))
            {
                await using var drop = admin.CreateCommand($"DROP DATABASE {_database} WITH (FORCE)");
                await drop.ExecuteNonQueryAsync();
            }

            try
            {
                Directory.Delete(_dataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

internal static class ClusterNodeKeys
{
    public static string Key(this IHost node) => node.Services.GetRequiredService<ILocalSiloDetails>().SiloAddress.ToParsableString();
}
