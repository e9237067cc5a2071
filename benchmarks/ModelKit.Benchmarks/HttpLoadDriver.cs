using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
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
        Console.WriteLine("| model | clients | in-process req/s | in-process p50 / p95 / p99 (ms) | REST req/s | REST p50 / p95 / p99 (ms) | REST / in-process throughput | p50 added by REST |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        foreach (var model in models)
        {
            var maxBatch = model == "mlp" ? 64 : 16;
            var data = Path.Combine(Path.GetTempPath(), "modelkit-bench-data", Guid.NewGuid().ToString("N"));
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
            builder.Services.AddModelKit(o => o.DataDirectory = data)
                .AddOnnxRuntime(o => o.IntraOpThreads = 1)
                .AddHttpApi(o => { o.Enabled = false; o.RequestsPerMinute = 0; })
                .ConfigureInference(o => o.DefaultBatching = new BatchingOptions { MaxBatchSize = maxBatch, Instances = 2, MaxQueueSize = 100_000 });
            await using var app = builder.Build();
            app.MapModelKit();
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            await using (var file = File.OpenRead(BenchModels.PathOf(model)))
            {
                await app.Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = model, Name = model }, file, model + ".onnx");
            }

            var inference = app.Services.GetRequiredService<IInferenceService>();
            await inference.InferAsync(new InferenceRequest { ModelId = model, Inputs = BenchModels.Inputs(model, 0) });
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = new Uri(address) };
            foreach (var callers in callerCounts)
            {
                var local = await LoadDriver.RunModelKitAsync(inference, model, callers, duration);
                var rest = await RunHttpAsync(http, model, callers, duration);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {model} | {callers} | {local.Throughput:N0} | {local.P50:F3} / {local.P95:F3} / {local.P99:F3} | {rest.Throughput:N0} | {rest.P50:F3} / {rest.P95:F3} / {rest.P99:F3} | {rest.Throughput / local.Throughput:F2}× | {(rest.P50 - local.P50) * 1000:F0} µs |"));
            }

            await app.StopAsync();
        }
    }

    // Body of POST /api/v1/models/{model}/inference: the same inputs the in-process callers send, as named tensors.
    private static string Body(string model, int seed)
    {
        var inputData = new Dictionary<string, object>();
        foreach (var (name, tensor) in BenchModels.Inputs(model, seed))
        {
            object data = tensor.ElementType == TensorElementType.Float32 ? tensor.ToArray<float>() : tensor.ToArray<long>();
            inputData[name] = new { shape = tensor.Shape.ToArray(), datatype = tensor.ElementType == TensorElementType.Float32 ? "FP32" : "INT64", data };
        }

        return JsonSerializer.Serialize(new { input_data = inputData });
    }

    private static async Task<LoadDriver.Result> RunHttpAsync(HttpClient http, string model, int callers, TimeSpan duration)
    {
        var latencies = new List<double>[callers];
        var warmupEnd = Stopwatch.GetTimestamp() + (long)(0.5 * Stopwatch.Frequency);
        var end = warmupEnd + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var path = $"/api/v1/models/{model}/inference";
        var tasks = new Task[callers];
        for (var c = 0; c < callers; c++)
        {
            var index = c;
            latencies[c] = new List<double>(1 << 14);
            var body = Encoding.UTF8.GetBytes(Body(model, index));
            tasks[c] = Task.Run(async () =>
            {
                while (true)
                {
                    var start = Stopwatch.GetTimestamp();
                    if (start >= end) break;
                    using var content = new ByteArrayContent(body);
                    content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                    using var response = await http.PostAsync(path, content).ConfigureAwait(false);
                    await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                    if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                    if (start >= warmupEnd) latencies[index].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            });
        }

        await Task.WhenAll(tasks);
        return LoadDriver.Summarise(latencies, duration);
    }
}
