using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using ModelKit.ModelGenerator;
using Xunit.Abstractions;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>
/// Three sample-server processes as one cluster on loopback (ModelKit:Cluster, membership and registry in one PostgreSQL
/// database, a data directory each: a node fetches the files of the models it is given from the node that has them), six models and room for three in each node's cache (so two nodes still hold all six): every model answers through
/// every node with ONNX Runtime's own answer; one node killed with SIGKILL under load, and every request still succeeds
/// (forwarded requests try the next holder), its models are placed again, the registry has lost nothing; the node
/// started again rejoins and serves every model too; and a deployment made through seed 000 on one node is followed,
/// scaled and served through the others.
/// </summary>
public sealed class ClusterProcessTests(PostgresServer database, ITestOutputHelper output) : IClassFixture<PostgresServer>
{
    private const int Models = 6;
    private static readonly float[] Row = [.. Enumerable.Range(0, 64).Select(i => (i % 5) / 5f)];
    private static readonly string Body = $$"""{"inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": [{{string.Join(",", Row.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}}]}]}""";

    private static byte[] Model(int i) => DemoModels.CreateMlp(new MlpSpec { Seed = 500 + i });

    private static float[] Expected(int i)
    {
        using var session = new InferenceSession(Model(i));
        using var input = OrtValue.CreateTensorValueFromMemory(Row, [1, 64]);
        using var options = new RunOptions();
        using var outputs = session.Run(options, ["x"], [input], ["logits"]);
        return outputs[0].GetTensorDataAsSpan<float>().ToArray();
    }

    private sealed class Node(SampleServerProcess process) : IDisposable
    {
        public SampleServerProcess Process { get; } = process;

        public HttpClient Client { get; } = Create(process.Address);

        private static HttpClient Create(Uri address)
        {
            var client = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
            client.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
            return client;
        }

        public void Dispose()
        {
            Client.Dispose();
            Process.Dispose();
        }
    }

    private static Node Start(string dataDirectory, string connectionString, string clusterId, int maxModels = 3) => new(SampleServerProcess.Start(dataDirectory,
        "--ModelKit:DeployDemoModels=false",
        "--ModelKit:Cache:MaxModels=" + maxModels.ToString(CultureInfo.InvariantCulture),
        "--ModelKit:Deployments:Persist=false",
        "--ModelKit:Registry:PostgreSql=" + connectionString,
        "--ModelKit:Cluster:ConnectionString=" + connectionString,
        "--ModelKit:Cluster:ClusterId=" + clusterId,
        "--ModelKit:Cluster:AdvertisedAddress=127.0.0.1",
        "--ModelKit:Cluster:NodePort=" + LocalProcesses.FreePort().ToString(CultureInfo.InvariantCulture),
        "--ModelKit:Cluster:ProbeTimeout=00:00:01",
        "--Logging:LogLevel:Default=Warning",
        "--Logging:LogLevel:ModelKit.Cluster.DeploymentDirectoryGrain=Information"));

    private static async Task<float[]> InferAsync(Node node, int model)
    {
        var response = await node.Client.PostAsync($"/v2/models/mlp-{model}/infer", Json(Body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"mlp-{model} through {node.Process.Address}: {(int)response.StatusCode} {text}");
        var output = JsonDocument.Parse(text).RootElement.GetProperty("outputs")[0];
        return [.. output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle())];
    }

    // The models (mlp-i) that have a series of the metric in a /metrics text.
    private static HashSet<int> ModelsIn(string metrics, string name) =>
        [.. Enumerable.Range(0, Models).Where(i => metrics.Split('\n').Any(l => l.StartsWith(name + "{", StringComparison.Ordinal) && l.Contains($"model=\"mlp-{i}\"", StringComparison.Ordinal)))];

    // The sum of a counter's series over the nodes' /metrics.
    private static async Task<double> CounterAsync(IEnumerable<Node> nodes, string name)
    {
        var total = 0.0;
        foreach (var node in nodes)
        {
            var text = await node.Client.GetStringAsync("/metrics");
            foreach (var line in text.Split('\n').Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal)))
            {
                total += double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    private static async Task RegisterAsync(Node node, int i)
    {
        await ExpectAsync(await node.Client.PostAsync("/api/v1/models", Json($$"""{"model_id": "mlp-{{i}}", "name": "MLP {{i}}", "framework": "onnx"}""")), HttpStatusCode.Created);
        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(Model(i));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", "model.onnx");
        await ExpectAsync(await node.Client.PostAsync($"/api/v1/models/mlp-{i}/upload", form), HttpStatusCode.OK);
    }

    // Four workers sending inference requests for every model in turn through the given nodes in turn, each answer
    // checked against ONNX Runtime's, until stopped: how many were sent, and what failed.
    private sealed class Load
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _failures = new();
        private Task[] _workers = [];
        private int _sent;

        public static Load Start(IReadOnlyList<Node> through, float[][] expected)
        {
            var load = new Load();
            load._workers = [.. Enumerable.Range(0, 4).Select(worker => Task.Run(async () =>
            {
                for (var k = worker; !load._stop.IsCancellationRequested; k++)
                {
                    var model = k % expected.Length;
                    try
                    {
                        Assert.Equal(expected[model], await InferAsync(through[k % through.Count], model));
                    }
                    catch (Exception ex)
                    {
                        load._failures.Enqueue(ex.Message);
                    }

                    Interlocked.Increment(ref load._sent);
                }
            }))];
            return load;
        }

        public async Task<(int Sent, IReadOnlyCollection<string> Failures)> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_workers);
            _stop.Dispose();
            return (_sent, _failures);
        }
    }

    // A new database for the cluster (registry and membership) and a cluster id of its own.
    private async Task<(string ConnectionString, string ClusterId)> NewClusterAsync(string prefix)
    {
        await using var source = await database.CreateDatabaseAsync();
        return (source.ConnectionString, prefix + "-" + Guid.NewGuid().ToString("N")[..8]);
    }

    private static async Task WaitForStatusAsync(Node node, string modelId, Func<JsonElement, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await node.Client.GetAsync($"/api/v1/models/{modelId}/status");
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.OK && condition(JsonDocument.Parse(text).RootElement)) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{modelId} was not {what} through {node.Process.Address} within 30 s: {(int)response.StatusCode} {text}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task ThreeProcesses_OneKilledUnderLoad_EveryRequestSucceeds_ItsModelsArePlacedAgain_AndItRejoins()
    {
        using var dir = new TempDirectory();
        var (connectionString, clusterId) = await NewClusterAsync("proc");
        var nodes = new List<Node>();
        try
        {
            for (var n = 0; n < 3; n++) nodes.Add(Start(dir.Combine($"node-{n}"), connectionString, clusterId));
            foreach (var node in nodes) await node.Process.WaitUntilListeningAsync(node.Client);

            var expected = new float[Models][];
            for (var i = 0; i < Models; i++)
            {
                await RegisterAsync(nodes[0], i);
                expected[i] = Expected(i);
            }

            foreach (var node in nodes)
            {
                for (var i = 0; i < Models; i++) Assert.Equal(expected[i], await InferAsync(node, i));
            }

            // Who holds what, from the nodes' own metrics: every node was asked for every model, so a node holds the models it
            // did not forward. The node to kill holds a model that another node forwards to it.
            var held = new List<HashSet<int>>();
            var forwardedBy = new List<HashSet<int>>();
            foreach (var node in nodes)
            {
                forwardedBy.Add(ModelsIn(await node.Client.GetStringAsync("/metrics"), "modelkit_cluster_forwarded_total"));
                held.Add([.. Enumerable.Range(0, Models).Where(i => !forwardedBy[^1].Contains(i))]);
            }

            Assert.True(Models == held.Sum(h => h.Count) && Models == held.SelectMany(h => h).Distinct().Count(),
                "each model should be held by exactly one node:\n" + string.Join("\n", held.Select((h, n) => $"node {n} holds {string.Join(",", h)}")));
            // Not node 0, the node the models were uploaded through: this test is about forwarding and placement (losing the
            // uploading node, whose files have a copy on one other node, is ClusterTests' AnUploadIsCopied… test).
            var victim = Enumerable.Range(1, 2).First(v => held[v].Any(m => Enumerable.Range(0, 3).Any(o => o != v && forwardedBy[o].Contains(m))));

            // Load through the two nodes that stay, while the third is killed.
            var survivors = nodes.Where((_, n) => n != victim).ToArray();
            var load = Load.Start(survivors, expected);
            await Task.Delay(TimeSpan.FromSeconds(2));
            nodes[victim].Process.Kill();
            await Task.Delay(TimeSpan.FromSeconds(10));
            var (sent, failures) = await load.StopAsync();
            Assert.True(failures.Count == 0, $"{failures.Count} of {sent} requests failed after the kill: {string.Join(" | ", failures.Take(3))}");
            Assert.True(sent > 50, $"only {sent} requests were sent");

            // Requests were forwarded between the nodes, and some forwards found the killed node gone and went on to another.
            var forwarded = await CounterAsync(survivors, "modelkit_cluster_forwarded_total");
            var retried = await CounterAsync(survivors, "modelkit_cluster_forward_failures_total");
            Assert.True(forwarded > 0, "no request was forwarded");
            Assert.True(retried > 0, $"none of {forwarded} forwarded requests met the killed node");

            // Every model still answers through both survivors, and the registry has all six.
            foreach (var node in survivors)
            {
                for (var i = 0; i < Models; i++) Assert.Equal(expected[i], await InferAsync(node, i));
            }

            var list = await (await survivors[1].Client.GetAsync("/api/v1/models?page_size=100")).Content.ReadAsStringAsync();
            for (var i = 0; i < Models; i++) Assert.Contains($"\"mlp-{i}\"", list, StringComparison.Ordinal);

            // The killed node started again rejoins and serves every model, forwarding those the others hold.
            nodes[victim].Dispose();
            nodes[victim] = Start(dir.Combine($"node-{victim}"), connectionString, clusterId);
            await nodes[victim].Process.WaitUntilListeningAsync(nodes[victim].Client);
            for (var i = 0; i < Models; i++) Assert.Equal(expected[i], await InferAsync(nodes[victim], i));
            Assert.True(await CounterAsync([nodes[victim]], "modelkit_cluster_forwarded_total") > 0, "the restarted node forwarded nothing: it did not rejoin the cluster");

            // Seed 000 across the cluster: deployed through one node, followed and scaled through another, refused a second
            // time through the third, and its model answered through every node (the deployment's node runs it).
            var deploy = await ExpectAsync(await nodes[0].Client.PostAsync("/api/v1/models/deploy", Json("""
                {"config": {"model_id": "mlp-1", "version": "1", "scaling_config": {"replicas": 1}}}
                """)), HttpStatusCode.Accepted);
            Assert.Equal("mlp-1", deploy.GetProperty("model_id").GetString());
            await WaitForStatusAsync(nodes[1], "mlp-1", s => s.GetProperty("status").GetString() == "running", "running");
            var scaled = await ExpectAsync(await nodes[1].Client.PostAsync("/api/v1/models/mlp-1/scale", Json("""{"replicas": 2}""")), HttpStatusCode.OK);
            Assert.Equal(2, scaled.GetProperty("target_replicas").GetInt32());
            await WaitForStatusAsync(nodes[2], "mlp-1", s => s.GetProperty("replicas").GetProperty("desired").GetInt32() == 2, "two replicas desired");
            await ExpectAsync(await nodes[2].Client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "mlp-1"}}""")), HttpStatusCode.Conflict, "MODEL_ALREADY_EXISTS");
            foreach (var node in nodes) Assert.Equal(expected[1], await InferAsync(node, 1));
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }

    [Fact]
    public async Task ANodeCutOff_IsDeclaredDead_ItsDeploymentAndModelsMove_RequestsThroughTheOthersSucceed_AndBackItLeavesAndRejoins()
    {
        using var dir = new TempDirectory();
        var (connectionString, clusterId) = await NewClusterAsync("cut");
        var nodes = new List<Node>();
        try
        {
            // Node 0, where the files are uploaded, has room for one model only, so placement and the deployment go to
            // nodes 1 and 2 (which fetch the files from node 0), and cutting either off leaves a copy of every file.
            for (var n = 0; n < 3; n++) nodes.Add(Start(dir.Combine($"node-{n}"), connectionString, clusterId, maxModels: n == 0 ? 1 : 3));
            foreach (var node in nodes) await node.Process.WaitUntilListeningAsync(node.Client);
            var expected = new float[2][];
            for (var i = 0; i < 2; i++)
            {
                await RegisterAsync(nodes[0], i);
                expected[i] = Expected(i);
            }

            var deploy = await ExpectAsync(await nodes[0].Client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "mlp-0"}}""")), HttpStatusCode.Accepted);
            var deploymentId = deploy.GetProperty("deployment_id").GetString()!;
            await WaitForStatusAsync(nodes[0], "mlp-0", s => s.GetProperty("status").GetString() == "running", "running");
            foreach (var node in nodes)
            {
                for (var i = 0; i < 2; i++) Assert.Equal(expected[i], await InferAsync(node, i));
            }

            // The deployment's node is the one that does not forward mlp-0.
            var forwarding = new List<HashSet<int>>();
            foreach (var node in nodes) forwarding.Add(ModelsIn(await node.Client.GetStringAsync("/metrics"), "modelkit_cluster_forwarded_total"));
            var home = Assert.Single(Enumerable.Range(0, 3), n => !forwarding[n].Contains(0));
            Assert.NotEqual(0, home);
            var others = nodes.Where((_, n) => n != home).ToArray();

            // Load through the two others while the deployment's node is cut off.
            var load = Load.Start(others, expected);
            await Task.Delay(TimeSpan.FromSeconds(1));
            nodes[home].Process.Pause();
            var cutAt = System.Diagnostics.Stopwatch.StartNew();

            // The others declare it dead, and one of them takes its deployment over (its log says from where); the load
            // goes on meanwhile, and every request succeeds (those that met the cut-off node tried another).
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var logs = await others[1].Client.GetAsync($"/api/deployments/{deploymentId}/logs?lines=100");
                var text = await logs.Content.ReadAsStringAsync();
                if (logs.StatusCode == HttpStatusCode.OK && text.Contains("Restored from node", StringComparison.Ordinal))
                {
                    output.WriteLine($"Taken over {cutAt.Elapsed.TotalSeconds:F1} s after the node was cut off (ProbeTimeout 1 s; checked every 0.25 s).");
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"the deployment was not taken over within 60 s: {(int)logs.StatusCode} {text}");
                await Task.Delay(250);
            }

            await WaitForStatusAsync(others[0], "mlp-0", s => s.GetProperty("status").GetString() == "running", "running again");
            await Task.Delay(TimeSpan.FromSeconds(2));
            var (sent, failures) = await load.StopAsync();
            Assert.True(failures.Count == 0, $"{failures.Count} of {sent} requests failed while a node was cut off: {string.Join(" | ", failures.Take(3))}");
            Assert.True(await CounterAsync(others, "modelkit_cluster_forward_failures_total") > 0, "no forwarded request met the cut-off node");

            // Back on the network, the node finds it was declared dead and stops: a member the others declared dead never
            // serves as one again (its deployment runs elsewhere now). Started again, it rejoins as a new member.
            nodes[home].Process.Resume();
            var resumedAt = System.Diagnostics.Stopwatch.StartNew();
            Assert.True(await nodes[home].Process.ExitsWithinAsync(TimeSpan.FromSeconds(60)), "the node declared dead did not stop:\n" + nodes[home].Process.OutputTail);
            output.WriteLine($"The node declared dead ended {resumedAt.Elapsed.TotalSeconds:F1} s after it could run again; {sent} requests through the others, none failed.");
            nodes[home].Dispose();
            nodes[home] = Start(dir.Combine($"node-{home}"), connectionString, clusterId);
            await nodes[home].Process.WaitUntilListeningAsync(nodes[home].Client);
            for (var i = 0; i < 2; i++) Assert.Equal(expected[i], await InferAsync(nodes[home], i));
            var listed = await ExpectAsync(await nodes[home].Client.GetAsync("/api/deployments/list"), HttpStatusCode.OK);
            Assert.Contains(deploymentId, listed.GetRawText(), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }

    [Fact]
    public async Task TheDeploymentDirectorysNodeCutOff_ADeployAnswers503AndCreatesNothing_AndOnceTheDirectoryMovedTheDeploySucceeds()
    {
        using var dir = new TempDirectory();
        var (connectionString, clusterId) = await NewClusterAsync("dir");
        var nodes = new List<Node>();
        try
        {
            for (var n = 0; n < 3; n++) nodes.Add(Start(dir.Combine($"node-{n}"), connectionString, clusterId));
            foreach (var node in nodes) await node.Process.WaitUntilListeningAsync(node.Client);
            for (var i = 0; i < 2; i++) await RegisterAsync(nodes[0], i);
            await ExpectAsync(await nodes[0].Client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "mlp-0"}}""")), HttpStatusCode.Accepted);
            await WaitForStatusAsync(nodes[0], "mlp-0", s => s.GetProperty("status").GetString() == "running", "running");

            // The node the directory is active on says so in its log; cut it off, and deploy through another node.
            var home = Assert.Single(Enumerable.Range(0, 3), n => nodes[n].Process.OutputTail.Contains("deployment directory is active on this node", StringComparison.Ordinal));
            var other = nodes[(home + 1) % 3];
            nodes[home].Process.Pause();
            var cutAt = System.Diagnostics.Stopwatch.StartNew();
            var refused = await other.Client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "mlp-1"}}"""));
            output.WriteLine($"Refused after {cutAt.Elapsed.TotalSeconds:F1} s.");
            var error = await ExpectAsync(refused, HttpStatusCode.ServiceUnavailable, "REGISTRY_UNAVAILABLE");
            Assert.Contains("deployment directory did not answer", error.GetRawText(), StringComparison.Ordinal);
            Assert.NotNull(refused.Headers.RetryAfter);

            // Once the cut-off node is declared dead, the directory is active on another node: the deploy, tried again as
            // the answer said, succeeds, and there is one deployment of the model (the refused one created nothing).
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var retry = await other.Client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "mlp-1"}}"""));
                if (retry.StatusCode == HttpStatusCode.Accepted) break;
                var text = await retry.Content.ReadAsStringAsync();
                Assert.True(retry.StatusCode == HttpStatusCode.ServiceUnavailable, $"expected 202 or 503: {(int)retry.StatusCode} {text}");
                Assert.True(DateTime.UtcNow < deadline, "the deploy was still refused 60 s after the directory's node was cut off: " + text);
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            output.WriteLine($"Accepted {cutAt.Elapsed.TotalSeconds:F1} s after the cut (ProbeTimeout 1 s).");
            await WaitForStatusAsync(other, "mlp-1", s => s.GetProperty("status").GetString() == "running", "running");
            // mlp-0 may have run on the cut-off node: it is listed again once another node has taken it over (and the
            // listing node has synced). mlp-1 is never listed twice meanwhile.
            var listedBy = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                var listed = (await ExpectAsync(await other.Client.GetAsync("/api/deployments/list"), HttpStatusCode.OK)).GetRawText();
                Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(listed, "\"model_id\":\\s*\"mlp-1\""));
                var mlp0 = System.Text.RegularExpressions.Regex.Count(listed, "\"model_id\":\\s*\"mlp-0\"");
                Assert.True(mlp0 <= 1, "mlp-0 listed twice: " + listed);
                if (mlp0 == 1) break;
                Assert.True(DateTime.UtcNow < listedBy, "mlp-0 was not listed again within 60 s: " + listed);
                await Task.Delay(500);
            }

            nodes[home].Process.Resume();
            Assert.True(await nodes[home].Process.ExitsWithinAsync(TimeSpan.FromSeconds(60)), "the node declared dead did not stop:\n" + nodes[home].Process.OutputTail);
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }
}
