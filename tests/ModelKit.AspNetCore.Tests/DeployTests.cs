using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Caching;
using YamlDotNet.RepresentationModel;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>
/// The deployment examples under deploy/ checked against the real thing. The Kubernetes manifests (no cluster is available
/// here) are parsed: every object is complete, the names they refer to each other by match, every ModelKit setting reads
/// back into ModelKit's options and passes their validation, and a sample server started with the Deployment's Kestrel
/// settings answers the probes' paths and exports the metric the autoscaler scales on. The nginx configuration runs in
/// Debian's nginx in front of two sample servers, and keeps answering when one of them is killed.
/// </summary>
public sealed partial class DeployTests
{
    private static readonly string K8s = Path.Combine(RepositoryRoot.Path, "deploy", "k8s");

    private static Dictionary<string, YamlMappingNode> Manifests()
    {
        var byKind = new Dictionary<string, YamlMappingNode>(StringComparer.Ordinal);
        foreach (var file in Directory.GetFiles(K8s, "*.yaml").Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file)) stream.Load(reader);
            foreach (var document in stream.Documents)
            {
                var root = Assert.IsType<YamlMappingNode>(document.RootNode);
                Assert.False(string.IsNullOrEmpty(Scalar(root, "apiVersion")), $"{Path.GetFileName(file)}: no apiVersion");
                var kind = Scalar(root, "kind");
                Assert.False(string.IsNullOrEmpty(Scalar(Map(root, "metadata"), "name")), $"{Path.GetFileName(file)}: no metadata.name");
                Assert.True(byKind.TryAdd(kind, root), $"two {kind} objects");
            }
        }

        return byKind;
    }

    private static YamlMappingNode Map(YamlMappingNode node, params string[] path)
    {
        foreach (var key in path) node = Assert.IsType<YamlMappingNode>(node.Children[new YamlScalarNode(key)]);
        return node;
    }

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node.Children[new YamlScalarNode(key)]).Value!;

    private static IEnumerable<YamlMappingNode> Sequence(YamlMappingNode node, string key) =>
        ((YamlSequenceNode)node.Children[new YamlScalarNode(key)]).Children.Cast<YamlMappingNode>();

    private static YamlMappingNode Container(Dictionary<string, YamlMappingNode> manifests) =>
        Assert.Single(Sequence(Map(manifests["Deployment"], "spec", "template", "spec"), "containers"));

    // The container's environment as the pod sees it: literal values, secrets as a connection string, $(POD_IP) as an address.
    private static Dictionary<string, string> Environment(Dictionary<string, YamlMappingNode> manifests)
    {
        var secret = manifests["Secret"];
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var variable in Sequence(Container(manifests), "env"))
        {
            var name = Scalar(variable, "name");
            if (variable.Children.ContainsKey(new YamlScalarNode("value")))
            {
                environment[name] = Scalar(variable, "value").Replace("$(POD_IP)", "10.1.2.3", StringComparison.Ordinal);
            }
            else if (Map(variable, "valueFrom").Children.ContainsKey(new YamlScalarNode("secretKeyRef")))
            {
                var reference = Map(variable, "valueFrom", "secretKeyRef");
                Assert.Equal(Scalar(Map(secret, "metadata"), "name"), Scalar(reference, "name"));
                environment[name] = Scalar(Map(secret, "stringData"), Scalar(reference, "key"));
            }
        }

        return environment;
    }

    [Fact]
    public void KubernetesManifests_AreCompleteAndReferToEachOther()
    {
        var manifests = Manifests();
        Assert.Equal(["Deployment", "HorizontalPodAutoscaler", "PersistentVolumeClaim", "Secret", "Service"], manifests.Keys.Order(StringComparer.Ordinal));
        var deployment = manifests["Deployment"];
        var labels = Map(deployment, "spec", "template", "metadata", "labels");
        Assert.Equal(Map(deployment, "spec", "selector", "matchLabels").Children, labels.Children);
        Assert.All(Map(manifests["Service"], "spec", "selector").Children, label => Assert.Equal(label.Value, labels.Children[label.Key]));

        var ports = Sequence(Container(manifests), "ports").ToDictionary(p => Scalar(p, "name"), p => int.Parse(Scalar(p, "containerPort"), CultureInfo.InvariantCulture));
        Assert.All(Sequence(Map(manifests["Service"], "spec"), "ports"), p => Assert.Contains(Scalar(p, "targetPort"), ports.Keys));
        Assert.Equal(ports["cluster"].ToString(CultureInfo.InvariantCulture), Environment(manifests)["ModelKit__Cluster__NodePort"]);

        var target = Map(manifests["HorizontalPodAutoscaler"], "spec", "scaleTargetRef");
        Assert.Equal(("Deployment", Scalar(Map(deployment, "metadata"), "name")), (Scalar(target, "kind"), Scalar(target, "name")));
        var volume = Assert.Single(Sequence(Map(deployment, "spec", "template", "spec"), "volumes"));
        Assert.Equal(Scalar(Map(manifests["PersistentVolumeClaim"], "metadata"), "name"), Scalar(Map(volume, "persistentVolumeClaim"), "claimName"));
        Assert.Equal("ReadWriteMany", ((YamlScalarNode)Assert.Single(((YamlSequenceNode)Map(manifests["PersistentVolumeClaim"], "spec").Children[new YamlScalarNode("accessModes")]).Children)).Value);
    }

    [Fact]
    public void KubernetesManifests_ModelKitSettings_ReadBackIntoItsOptions_AndPassTheirValidation()
    {
        var environment = Environment(Manifests());
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(environment.Select(e => new KeyValuePair<string, string?>(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value)))
            .Build();
        var modelKit = configuration.GetSection("ModelKit");
        foreach (var key in environment.Keys.Where(k => k.StartsWith("ModelKit__", StringComparison.Ordinal)))
        {
            Assert.True(key.Split("__") switch
            {
                [_, "Cluster", var option] => typeof(ModelKitClusterOptions).GetProperty(option) is not null,
                [_, "Cache", var option] => typeof(ModelCacheOptions).GetProperty(option) is not null,
                [_, "Deployments", var option] => typeof(ModelKit.Deployments.DeploymentOptions).GetProperty(option) is not null,
                [_, "Registry", "PostgreSql"] => File.ReadAllText(Path.Combine(RepositoryRoot.Path, "samples", "ModelKit.SampleServer", "Program.cs")).Contains("\"ModelKit:Registry:PostgreSql\"", StringComparison.Ordinal),
                [_, var option] => typeof(ModelKitOptions).GetProperty(option) is not null,
                _ => false,
            }, $"{key} is not a setting ModelKit reads");
        }

        // The same registration the sample server makes: AddCluster validates the cluster's options as it binds them.
        var services = new ServiceCollection();
        services.AddModelKit(modelKit).AddCluster(modelKit.GetSection("Cluster"));
        var cluster = services.BuildServiceProvider().GetRequiredService<IOptions<ModelKitClusterOptions>>().Value;
        Assert.Equal(("10.1.2.3", 11111, "modelkit"), (cluster.AdvertisedAddress, cluster.NodePort, cluster.ClusterId));
        Assert.StartsWith("Host=", cluster.ConnectionString, StringComparison.Ordinal);
        var cache = new ModelCacheOptions();
        modelKit.GetSection("Cache").Bind(cache, o => o.ErrorOnUnknownConfiguration = true);
        Assert.Equal(0.75, cache.MemoryLimitFraction);
    }

    [Fact]
    public async Task KubernetesManifests_TheDeploymentsKestrelSettings_ServeTheProbesAndTheScaledMetric()
    {
        var manifests = Manifests();
        var environment = Environment(manifests);
        var port = LocalProcesses.FreePort();
        var address = new Uri($"http://127.0.0.1:{port}");
        var settings = environment
            .Where(e => e.Key.StartsWith("Kestrel__", StringComparison.Ordinal))
            .Select(e => $"--{e.Key.Replace("__", ":", StringComparison.Ordinal)}={e.Value}")
            .Select(s => s.Replace("http://0.0.0.0:8080", address.ToString().TrimEnd('/'), StringComparison.Ordinal)
                .Replace("http://0.0.0.0:8081", $"http://127.0.0.1:{LocalProcesses.FreePort()}", StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(4, settings.Length);
        using var dir = new TempDirectory();
        using var server = SampleServerProcess.Start(dir.Path, address, passUrls: false, [.. settings, "--ModelKit:ServeChatModel=false"]);
        using var client = new HttpClient { BaseAddress = address };
        client.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
        await server.WaitUntilServingAsync(client, "demo-mlp");

        var container = Container(manifests);
        foreach (var probe in new[] { "startupProbe", "livenessProbe", "readinessProbe" })
        {
            var get = Map(container, probe, "httpGet");
            Assert.Equal("http", Scalar(get, "port"));
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(Scalar(get, "path"))).StatusCode);
        }

        await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference",
            Json($$"""{"input_data": [[{{string.Join(",", Enumerable.Repeat("0.5", 64))}}]]}""")), HttpStatusCode.OK);
        var metric = Scalar(Map(Assert.Single(Sequence(Map(manifests["HorizontalPodAutoscaler"], "spec"), "metrics")), "pods", "metric"), "name");
        var metrics = await client.GetStringAsync("/metrics");
        Assert.Matches(new Regex("^" + Regex.Escape(metric) + "[{ ]", RegexOptions.Multiline), metrics);
    }

    [Fact]
    public async Task Nginx_TheExampleConfiguration_BalancesOverTwoSampleServers_AndSkipsOneThatWasKilled()
    {
        var nginx = new[] { "/usr/sbin/nginx", "/usr/bin/nginx" }.FirstOrDefault(File.Exists);
        Assert.True(nginx is not null, "nginx is not installed (Debian: nginx-light; scripts/test.sh installs it)");
        using var dir = new TempDirectory();
        using var first = SampleServerProcess.Start(Path.Combine(dir.Path, "a"), "--ModelKit:ServeChatModel=false");
        using var second = SampleServerProcess.Start(Path.Combine(dir.Path, "b"), "--ModelKit:ServeChatModel=false");
        foreach (var node in new[] { first, second })
        {
            using var direct = new HttpClient { BaseAddress = node.Address };
            direct.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
            await node.WaitUntilServingAsync(direct, "demo-mlp");
        }

        // The example as shipped, with the nodes' and nginx's own addresses put in and nginx's files in the test's folder.
        var restPort = LocalProcesses.FreePort();
        var config = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "deploy", "nginx", "modelkit.conf"));
        var rest = UpstreamBlock().Match(config);
        Assert.True(rest.Success, "no upstream modelkit_rest block");
        config = config.Replace(rest.Value, $"upstream modelkit_rest {{\n    least_conn;\n    server {first.Address.Authority} max_fails=2 fail_timeout=5s;\n    server {second.Address.Authority} max_fails=2 fail_timeout=5s;\n    keepalive 64;\n}}", StringComparison.Ordinal)
            .Replace("listen 80;", $"listen 127.0.0.1:{restPort};", StringComparison.Ordinal)
            .Replace("listen 81 http2;", $"listen 127.0.0.1:{LocalProcesses.FreePort()} http2;", StringComparison.Ordinal);
        var temp = Path.Combine(dir.Path, "nginx");
        Directory.CreateDirectory(temp);
        var main = Path.Combine(temp, "nginx.conf");
        File.WriteAllText(main, $$"""
            daemon off;
            pid {{temp}}/nginx.pid;
            error_log {{temp}}/error.log;
            events { worker_connections 256; }
            http {
                access_log off;
                client_body_temp_path {{temp}}/body;
                proxy_temp_path {{temp}}/proxy;
                fastcgi_temp_path {{temp}}/fastcgi;
                uwsgi_temp_path {{temp}}/uwsgi;
                scgi_temp_path {{temp}}/scgi;
            {{config}}
            }
            """);
        var check = Process.Start(new ProcessStartInfo(nginx!, ["-t", "-c", main, "-p", temp]) { RedirectStandardError = true })!;
        var checkOutput = await check.StandardError.ReadToEndAsync();
        await check.WaitForExitAsync();
        Assert.True(check.ExitCode == 0, "nginx -t: " + checkOutput);

        using var proxy = Process.Start(new ProcessStartInfo(nginx!, ["-c", main, "-p", temp]) { RedirectStandardError = true })!;
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{restPort}"), Timeout = TimeSpan.FromSeconds(30) };
            client.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
            var body = $$"""{"input_data": [[{{string.Join(",", Enumerable.Repeat("0.5", 64))}}]]}""";
            for (var attempt = 0; ; attempt++)
            {
                Assert.True(attempt < 100, "nginx did not pass /health/live through within 10 s");
                try
                {
                    if ((await client.GetAsync("/health/live")).IsSuccessStatusCode) break;
                }
                catch (HttpRequestException)
                {
                }

                await Task.Delay(100);
            }

            for (var i = 0; i < 10; i++) await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", Json(body)), HttpStatusCode.OK);

            // One node killed: every request, reads and inferences, still answers through the other.
            first.Kill();
            for (var i = 0; i < 10; i++)
            {
                await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", Json(body)), HttpStatusCode.OK);
                Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/v1/models/demo-mlp/status")).StatusCode);
            }
        }
        finally
        {
            proxy.Kill(entireProcessTree: true);
            await proxy.WaitForExitAsync();
        }
    }

    [GeneratedRegex(@"upstream modelkit_rest \{[^}]*\}")]
    private static partial Regex UpstreamBlock();
}
