using System.Net;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace ModelKit.Tests;

/// <summary>
/// Keeps docs/seed-conformance.md true: every endpoint the seed documents name is a row of it, every HTTP row is an
/// endpoint of the sample server (method and path), and every "501 until issue N" row answers 501 NOT_IMPLEMENTED in
/// its surface's error shape.
/// </summary>
public sealed partial class SeedConformanceTests(SampleServerFactory factory) : IClassFixture<SampleServerFactory>
{
    private static readonly string Root = FindRoot();

    private sealed record Row(string Method, string Path, string Status);

    [Fact]
    public void EveryEndpointOfTheSeeds_HasARow()
    {
        // A row's path is a template: "/inference/cache/models/{key}" covers the document's "…/models/ollama:llama2-7b".
        var rows = Rows().Select(r => new Regex("^" + r.Method + " " + ParameterPattern().Replace(Regex.Escape(Key(r.Method, r.Path)[(r.Method.Length + 1)..]).Replace(@"\{}", "{}"), "[^/]+") + "$")).ToList();
        var documented = SeedEndpoints().DistinctBy(e => Key(e.Method, e.Path)).ToList();
        Assert.True(documented.Count >= 60, $"only {documented.Count} endpoints were found in the seed documents"); // the reader still reads them
        var missing = documented.Where(e => !rows.Any(r => r.IsMatch(Key(e.Method, e.Path)))).Select(e => $"{e.Method} {e.Path} ({e.Seed})").ToList();
        Assert.True(missing.Count == 0, "not in docs/seed-conformance.md: " + string.Join(", ", missing));
    }

    [Fact]
    public async Task EveryRow_IsAnEndpointOfTheSampleServer_AndThe501RowsAnswer501()
    {
        var client = factory.CreateClient();
        var routes = factory.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => Key(m, "/" + e.RoutePattern.RawText!.TrimStart('/'))))
            .ToHashSet(StringComparer.Ordinal);
        var rows = Rows().Where(r => r.Method != "gRPC").ToList();
        Assert.True(rows.Count >= 70, $"only {rows.Count} rows were read from docs/seed-conformance.md");
        var unmapped = rows.Where(r => !routes.Contains(Key(r.Method, r.Path))).Select(r => $"{r.Method} {r.Path}").ToList();
        Assert.True(unmapped.Count == 0, "rows that are no endpoint of the sample server: " + string.Join(", ", unmapped));

        // A served gRPC row ("gRPC model.ModelService/ListModels") is the sample server's POST /model.ModelService/ListModels.
        var grpc = Rows().Where(r => r.Method == "gRPC" && r.Status.StartsWith("served", StringComparison.Ordinal)).ToList();
        Assert.True(grpc.Count >= 11, $"only {grpc.Count} served gRPC rows were read from docs/seed-conformance.md");
        var unmappedGrpc = grpc.Where(r => !routes.Contains(Key("POST", "/" + r.Path))).Select(r => r.Path).ToList();
        Assert.True(unmappedGrpc.Count == 0, "gRPC rows that are no method of the sample server: " + string.Join(", ", unmappedGrpc));

        foreach (var row in rows.Where(r => r.Status.StartsWith("501", StringComparison.Ordinal)))
        {
            var path = ParameterPattern().Replace(row.Path, "demo-mlp");
            using var request = new HttpRequestMessage(new HttpMethod(row.Method), path);
            if (row.Method is "POST" or "PUT") request.Content = Http.Json("{}");
            var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.NotImplemented, $"{row.Method} {path}: expected 501, got {(int)response.StatusCode} {text}");
            Assert.Equal("NOT_IMPLEMENTED", Http.CodeOf(System.Text.Json.JsonDocument.Parse(text).RootElement));
        }
    }

    // "| `GET /api/v1/models/{model_id}/status` | served with deviations | … |"
    private static IEnumerable<Row> Rows()
    {
        foreach (Match match in RowPattern().Matches(File.ReadAllText(Path.Combine(Root, "docs", "seed-conformance.md"))))
        {
            yield return new Row(match.Groups[1].Value, match.Groups[2].Value, match.Groups[3].Value.Trim());
        }
    }

    // The endpoints the seed documents name, in each document's own notation.
    private static IEnumerable<(string Seed, string Method, string Path)> SeedEndpoints()
    {
        var seeds = Path.Combine(Root, "..", "shared", "seeds");
        foreach (var file in Directory.GetFiles(seeds, "*.md"))
        {
            var seed = Path.GetFileNameWithoutExtension(file);
            var text = File.ReadAllText(file);
            foreach (Match m in InlinePattern().Matches(text))
            {
                // Seed 003's plan names some paths relative to its /inference router ("GET /cache/stats").
                var path = m.Groups[2].Value.TrimEnd('.');
                if (seed.StartsWith("003", StringComparison.Ordinal) && !path.StartsWith("/inference", StringComparison.Ordinal) && !path.StartsWith("/infer_", StringComparison.Ordinal)) path = "/inference" + path;
                yield return (seed, m.Groups[1].Value, path);
            }

            // 001: "**请求方式**: GET" then "**URL**: `/models`"; 002: "**接口路径**: `/api/v1/models`" then "**请求方法**: `POST`".
            foreach (Match m in GatewayPattern().Matches(text)) yield return (seed, m.Groups[1].Value, m.Groups[2].Value);
            foreach (Match m in RegistryPattern().Matches(text)) yield return (seed, m.Groups[2].Value, m.Groups[1].Value);
            foreach (Match m in WebSocketPattern().Matches(text)) yield return (seed, "GET", m.Groups[1].Value);
        }
    }

    private static string Key(string method, string path) => method.ToUpperInvariant() + " " + ParameterPattern().Replace(path.TrimEnd('/'), "{}");

    private static string FindRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "ModelKit.sln"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("ModelKit.sln not found above the test's directory.");
    }

    [GeneratedRegex(@"^\| `(GET|POST|PUT|DELETE|gRPC) ([^`]+)` \| ([^|]+) \|", RegexOptions.Multiline)]
    private static partial Regex RowPattern();

    [GeneratedRegex(@"\b(GET|POST|PUT|DELETE) (/[A-Za-z0-9_{}/.:-]*)")]
    private static partial Regex InlinePattern();

    [GeneratedRegex(@"\*\*请求方式\*\*: (GET|POST|PUT|DELETE)\s+\*\*URL\*\*: `([^`]+)`")]
    private static partial Regex GatewayPattern();

    [GeneratedRegex(@"\*\*接口路径\*\*: `([^`]+)`\s+- \*\*请求方法\*\*: `(GET|POST|PUT|DELETE)`")]
    private static partial Regex RegistryPattern();

    [GeneratedRegex(@"ws://[^/\s]+(/[A-Za-z0-9_/-]+)")]
    private static partial Regex WebSocketPattern();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex ParameterPattern();
}
