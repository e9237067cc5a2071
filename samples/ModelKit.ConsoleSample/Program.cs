// The console sample: generates the demo models on first start, registers them in a registry under
// ./modelkit-data, deploys each (2 replicas), then sends 64 concurrent requests to each and shows how the
// scheduler batched them. Deployments are saved in the data directory and restored on the next start.
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;

var dataDirectory = args.Length > 0 ? args[0] : Path.Combine(Environment.CurrentDirectory, "modelkit-data");
var services = new ServiceCollection().AddLogging(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning));
services.AddModelKit(o => o.DataDirectory = dataDirectory)
    .AddOnnxRuntime()
    .ConfigureInference(o => o.DefaultBatching = new() { MaxBatchSize = 64 });
await using var provider = services.BuildServiceProvider();
var registry = provider.GetRequiredService<IModelRegistry>();
var inference = provider.GetRequiredService<IInferenceService>();
var router = provider.GetRequiredService<ModelKit.Serving.IModelRouter>();
var deployments = provider.GetRequiredService<DeploymentManager>();
await deployments.RestoreAsync(); // no IHost here, so bring back saved deployments ourselves

await EnsureModelAsync(registry, "demo-mlp", "Demo MLP 64→256→10", "classification", DemoModels.CreateMlp());
await EnsureModelAsync(registry, "demo-bert", "Demo BERT-style encoder (2 layers, hidden 128)", "feature-extraction", DemoModels.CreateBertEncoder());

foreach (var model in (await registry.ListModelsAsync(new ModelQuery())).Items)
{
    var version = model.FindVersion(null)!;
    Console.WriteLine($"{model.Id} v{version.Version} [{StatusName(version.Status)}] {version.SizeBytes:N0} bytes, sha256 {version.Sha256![..12]}…");
    foreach (var input in version.Signature!.Inputs) Console.WriteLine($"    in  {input.Name} {input.Describe()}");
    foreach (var output in version.Signature!.Outputs) Console.WriteLine($"    out {output.Name} {output.Describe()}");
}

foreach (var modelId in new[] { "demo-mlp", "demo-bert" })
{
    var deployment = deployments.FindByModel(modelId)
        ?? await deployments.DeployAsync(new DeploymentSpec { DeploymentId = modelId, ModelId = modelId, Replicas = 2, MaxReplicas = 4 });
    var running = await deployments.WaitUntilRunningAsync(deployment.DeploymentId);
    Console.WriteLine($"deployment {running.DeploymentId}: {running.State} v{running.Version} on {running.Device}, {running.ReadyReplicas} replicas " +
        $"(autoscale {running.MinReplicas}..{running.MaxReplicas}), stages: {string.Join(", ", running.Stages.Select(st => $"{st.Name} {st.Duration?.TotalMilliseconds:F0} ms"))}");
}

await RunAsync("demo-mlp", i => new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Enumerable.Range(0, 64).Select(j => (float)Math.Sin(i + j)).ToArray(), 1, 64) });
await RunAsync("demo-bert", i =>
{
    var ids = Enumerable.Range(0, 16).Select(j => (long)((i * 31 + j * 7) % 1000)).ToArray();
    return new Dictionary<string, Tensor>
    {
        ["input_ids"] = Tensor.Create(ids, 1, 16),
        ["attention_mask"] = Tensor.Create(Enumerable.Repeat(1L, 16).ToArray(), 1, 16),
        ["token_type_ids"] = Tensor.Create(new long[16], 1, 16),
    };
});

var cache = provider.GetRequiredService<IModelCache>().GetStats();
Console.WriteLine($"cache: {cache.Count} models, {cache.MemoryBytes:N0} bytes, hits {cache.Hits}, misses {cache.Misses}");
foreach (var entry in cache.Entries) Console.WriteLine($"    {entry.Key}: {entry.MemoryBytes:N0} bytes ({entry.MemoryMeasurement}), loaded in {entry.LoadTime.TotalMilliseconds:F0} ms");

async Task RunAsync(string modelId, Func<int, IReadOnlyDictionary<string, Tensor>> makeInputs)
{
    var watch = Stopwatch.StartNew();
    var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i =>
        inference.InferAsync(new InferenceRequest { ModelId = modelId, Inputs = makeInputs(i) })));
    var stats = router.GetQueueStats()[modelId]; // keyed by deployment id

    var first = results[0].Outputs.First();
    Console.WriteLine($"{modelId}: 64 concurrent requests in {watch.Elapsed.TotalMilliseconds:F1} ms; {stats.Batches} backend runs, " +
        $"{stats.AverageBatchSize:F1} requests per run; output '{first.Key}' {first.Value}");
}

static async Task EnsureModelAsync(IModelRegistry registry, string id, string name, string task, byte[] onnx)
{
    if (await registry.FindModelAsync(id) is not null) return;
    using var stream = new MemoryStream(onnx);
    await registry.RegisterAsync(new ModelDefinition { Id = id, Name = name, Task = task, Tags = ["demo", "generated"] }, stream, id + ".onnx");
}

static string StatusName(ModelVersionStatus status) => status.ToString().ToLowerInvariant();
