using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Benchmarks;

/// <summary>
/// Concurrent HTTP clients against ModelKit's REST endpoint on a real Kestrel socket (loopback) versus the same
/// callers calling <see cref="IInferenceService"/> in the same process, same host, same batching. Reports
/// throughput and p50/p95/p99, and the REST overhead at one client.
/// </summary>
internal static class HttpLoadDriver
{
    public static async Task RunAsync(string[] models, int[] callerCounts, TimeSpan duration)
    {
        // MODELKIT_HTTP_PHASES picks phases (default all): inproc, floor, json, binary, floor2, grpc.
        var phases = (Environment.GetEnvironmentVariable("MODELKIT_HTTP_PHASES") ?? "inproc,floor,json,binary,floor2,grpc").Split(',');
        Console.WriteLine("| model | clients | surface | req/s | p50 / p95 / p99 (ms) | throughput vs in-process | p50 added |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        foreach (var model in models)
        {
            var maxBatch = model == "mlp" ? 64 : 16;
            var data = Path.Combine(Path.GetTempPath(), "modelkit-bench-data", Guid.NewGuid().ToString("N"));
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
            {
                k.Listen(System.Net.IPAddress.Loopback, 0);
                k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2); // h2c for gRPC
            });
            builder.Services.AddModelKit(o => o.DataDirectory = data)
                .AddOnnxRuntime(o => o.IntraOpThreads = 1)
                .AddHttpApi(o => { o.Enabled = false; o.RequestsPerMinute = 0; })
                .AddGrpcApi()
                .ConfigureInference(o => o.DefaultBatching = new BatchingOptions { MaxBatchSize = maxBatch, Instances = 2, MaxQueueSize = 100_000 });
            await using var app = builder.Build();
            app.MapModelKit();
            app.MapModelKitGrpc();
            // The floor: the same body posted to an endpoint that only reads it and answers a small JSON object.
            app.MapPost("/bench/echo", async (HttpContext context) =>
            {
                await context.Request.Body.CopyToAsync(Stream.Null);
                return Results.Json(new { ok = true });
            });
            await app.StartAsync();
            var addresses = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.ToList();
            var address = addresses[0];
            await app.Services.GetRequiredService<IModelRegistry>().RegisterFileAsync(new ModelDefinition { Id = model, Name = model }, BenchModels.PathOf(model));

            var inference = app.Services.GetRequiredService<IInferenceService>();
            await inference.InferAsync(new InferenceRequest { ModelId = model, Inputs = BenchModels.Inputs(model, 0) });
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = new Uri(address) };
            using var channel = global::Grpc.Net.Client.GrpcChannel.ForAddress(addresses[1], new global::Grpc.Net.Client.GrpcChannelOptions
            {
                // A receive window that holds a whole answer (bert-small's is 128 KB), so that no answer waits for a window update.
                HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, InitialHttp2StreamWindowSize = 1 << 20 },
                MaxReceiveMessageSize = 64 << 20,
            });
            var grpc = new ModelKit.Grpc.Inference.GRPCInferenceService.GRPCInferenceServiceClient(channel);
            // HTTP/2's own floor: the echo endpoint over the same h2c port gRPC uses, prior knowledge, as gRPC's client talks.
            using var http2 = new HttpClient(new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionLifetime = Timeout.InfiniteTimeSpan, InitialHttp2StreamWindowSize = 1 << 20 })
            {
                BaseAddress = new Uri(addresses[1]),
                DefaultRequestVersion = System.Net.HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            foreach (var callers in callerCounts)
            {
                // The surfaces run one after the other on a shared machine whose speed drifts: the in-process baseline is
                // measured before and after them, and each ratio is against the mean of the two.
                LoadDriver.Result? before = phases.Contains("inproc") ? await LoadDriver.RunModelKitAsync(inference, model, callers, duration) : null;
                var surfaces = new List<(string Surface, LoadDriver.Result Result)>();
                if (phases.Contains("floor")) surfaces.Add(("HTTP floor (echo endpoint, same body)", await RunHttpAsync(http, callers, duration, "/bench/echo", seed => JsonBody(model, seed))));
                if (phases.Contains("json")) surfaces.Add(("REST JSON (POST /api/v1/models/{id}/inference)", await RunHttpAsync(http, callers, duration, $"/api/v1/models/{model}/inference", seed => JsonBody(model, seed))));
                if (phases.Contains("binary")) surfaces.Add(("OIP binary tensors (POST /v2/models/{id}/infer)", await RunHttpAsync(http, callers, duration, $"/v2/models/{model}/infer", seed => BinaryBody(model, seed))));
                if (phases.Contains("floor2")) surfaces.Add(("HTTP/2 floor (echo endpoint, h2c, same body)", await RunHttpAsync(http2, callers, duration, "/bench/echo", seed => BinaryBody(model, seed))));
                if (phases.Contains("grpc")) surfaces.Add(("gRPC ModelInfer, raw contents (h2c)", await RunGrpcAsync(grpc, callers, duration, seed => GrpcRequest(model, seed))));
                LoadDriver.Result? after = before is not null && surfaces.Count > 0 ? await LoadDriver.RunModelKitAsync(inference, model, callers, duration) : null;
                var local = before is null ? null : after is null ? before
                    : new LoadDriver.Result((before.Throughput + after.Throughput) / 2, (before.P50 + after.P50) / 2, (before.P95 + after.P95) / 2, (before.P99 + after.P99) / 2);
                if (before is not null) Report(model, callers, "in-process (IInferenceService), before", before, null);
                foreach (var (surface, result) in surfaces) Report(model, callers, surface, result, local);
                if (after is not null) Report(model, callers, "in-process (IInferenceService), after", after, null);
            }

            await app.StopAsync();
        }
    }

    private static void Report(string model, int callers, string surface, LoadDriver.Result result, LoadDriver.Result? local) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {model} | {callers} | {surface} | {result.Throughput:N0} | {result.P50:F3} / {result.P95:F3} / {result.P99:F3} | {(local is null ? "—" : $"{result.Throughput / local.Throughput:F2}×")} | {(local is null ? "—" : $"{(result.P50 - local.P50) * 1000:F0} µs")} |"));

    // What each client posts, built before the clock starts; a fresh HttpContent per request wraps the same bytes.
    private sealed record Body(byte[] Bytes, string ContentType, int? HeaderLength = null)
    {
        public ByteArrayContent ToContent()
        {
            var content = new ByteArrayContent(Bytes);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(ContentType);
            if (HeaderLength is { } length) content.Headers.Add("Inference-Header-Content-Length", length.ToString(CultureInfo.InvariantCulture));
            return content;
        }
    }

    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    // POST /api/v1/models/{model}/inference: the inputs the in-process callers send, as named tensors.
    private static Body JsonBody(string model, int seed) =>
        new(JsonSerializer.SerializeToUtf8Bytes(new { input_data = BenchModels.Inputs(model, seed).ToDictionary(p => p.Key, p => TensorJson.WriteTensor(p.Value)) }, Web), "application/json");

    // POST /v2/models/{model}/infer with the binary tensor data extension: inputs and outputs as raw bytes.
    private static Body BinaryBody(string model, int seed)
    {
        var inputs = BenchModels.Inputs(model, seed).ToList();
        var header = JsonSerializer.SerializeToUtf8Bytes(new
        {
            inputs = inputs.Select(p => new
            {
                name = p.Key,
                shape = p.Value.Shape.ToArray(),
                datatype = p.Value.ElementType.GetDataTypeName(),
                parameters = new { binary_data_size = p.Value.AsBytes().Length },
            }),
            parameters = new { binary_data_output = true },
        });
        return new([.. header, .. inputs.SelectMany(p => p.Value.AsBytes().ToArray())], "application/octet-stream", header.Length);
    }

    private static Task<LoadDriver.Result> RunHttpAsync(HttpClient http, int callers, TimeSpan duration, string path, Func<int, Body> bodyFor) =>
        LoadDriver.RunCallersAsync(callers, duration, index =>
        {
            var body = bodyFor(index);
            return async () =>
            {
                using var content = body.ToContent();
                using var response = await http.PostAsync(path, content).ConfigureAwait(false);
                var answer = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{response.StatusCode}: {Encoding.UTF8.GetString(answer)}");
            };
        });

    // inference.GRPCInferenceService/ModelInfer with raw_input_contents: the inputs' bytes, answered raw.
    private static ModelKit.Grpc.Inference.ModelInferRequest GrpcRequest(string model, int seed)
    {
        var request = new ModelKit.Grpc.Inference.ModelInferRequest { ModelName = model };
        foreach (var (name, tensor) in BenchModels.Inputs(model, seed))
        {
            var input = new ModelKit.Grpc.Inference.ModelInferRequest.Types.InferInputTensor { Name = name, Datatype = tensor.ElementType.GetDataTypeName() };
            input.Shape.AddRange(tensor.Shape.ToArray());
            request.Inputs.Add(input);
            request.RawInputContents.Add(Google.Protobuf.ByteString.CopyFrom(tensor.AsBytes()));
        }

        return request;
    }

    private static Task<LoadDriver.Result> RunGrpcAsync(
        ModelKit.Grpc.Inference.GRPCInferenceService.GRPCInferenceServiceClient client, int callers, TimeSpan duration, Func<int, ModelKit.Grpc.Inference.ModelInferRequest> requestFor) =>
        LoadDriver.RunCallersAsync(callers, duration, index =>
        {
            var request = requestFor(index);
            return async () =>
            {
                var response = await client.ModelInferAsync(request).ResponseAsync.ConfigureAwait(false);
                if (response.RawOutputContents.Count == 0) throw new InvalidOperationException("gRPC answered no raw outputs.");
            };
        });
}
