using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using ModelKit.Caching;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Tests;

/// <summary>The whole engine over real ONNX Runtime sessions: registry → queue → cache → backend.</summary>
public sealed class InferenceIntegrationTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private ServiceProvider _provider = null!;

    private IInferenceService Inference => _provider.GetRequiredService<IInferenceService>();

    public async Task InitializeAsync()
    {
        _provider = CreateProvider(_dir.Path, new BatchingOptions { MaxBatchSize = 64 });
        var registry = _provider.GetRequiredService<IModelRegistry>();
        await registry.RegisterFileAsync(new ModelDefinition { Id = "mlp", Name = "MLP" }, TestModels.Mlp);
        await registry.RegisterFileAsync(new ModelDefinition { Id = "bert", Name = "BERT tiny", Task = "feature-extraction" }, TestModels.BertTiny);
    }

    private static ServiceProvider CreateProvider(string dataDirectory, BatchingOptions batching)
    {
        var services = new ServiceCollection().AddLogging().AddMetrics();
        services.AddModelKit(o => o.DataDirectory = dataDirectory)
            .AddOnnxRuntime(o => o.IntraOpThreads = 1)
            .ConfigureCache(c => c.MemoryLimitBytes = 1L << 30)
            .ConfigureInference(o => o.DefaultBatching = batching);
        return services.BuildServiceProvider();
    }

    private static InferenceRequest MlpRequest(int seed) => new()
    {
        ModelId = "mlp",
        Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Enumerable.Range(0, 64).Select(i => MathF.Cos(seed + i)).ToArray(), 1, 64) },
    };

    [Fact]
    public async Task InferAsync_ManyConcurrentCallers_AreMergedAndEachGetsItsOwnRows()
    {
        var expected = new float[64][];
        for (var i = 0; i < 64; i++) expected[i] = (await Inference.InferAsync(MlpRequest(i))).Outputs["logits"].ToArray<float>();

        // A second host over the same registry whose queue waits up to 2 s for batch-mates: the 64 callers
        // fill one batch of 64 rows, which runs as soon as it is full.
        await using var batching = CreateProvider(_dir.Path, new BatchingOptions { MaxBatchSize = 64, MaxQueueDelay = TimeSpan.FromSeconds(2) });
        var meterFactory = batching.GetRequiredService<IMeterFactory>();
        using var batchSizes = new MetricCollector<int>(meterFactory, ModelKitTelemetry.Name, ModelKitTelemetry.BatchSize);
        var inference = batching.GetRequiredService<IInferenceService>();

        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(() => inference.InferAsync(MlpRequest(i)))));

        for (var i = 0; i < 64; i++)
        {
            var actual = results[i].Outputs["logits"].ToArray<float>();
            for (var j = 0; j < 10; j++) Assert.Equal(expected[i][j], actual[j], 4);
        }

        var sizes = batchSizes.GetMeasurementSnapshot().Select(m => m.Value).ToArray();
        Assert.Equal(64, sizes.Sum());
        Assert.True(sizes.Length < 64 && sizes.Max() > 1, $"the backend saw batches of {string.Join(",", sizes)}; concurrent callers should have been merged");
    }

    [Fact]
    public async Task InferAsync_BertWithSameSequenceLength_MergesAndMatchesSingleRuns()
    {
        InferenceRequest Request(int seed, int length) => new()
        {
            ModelId = "bert",
            Inputs = new Dictionary<string, Tensor>
            {
                ["input_ids"] = Tensor.Create(Enumerable.Range(0, length).Select(i => (long)((seed * 13 + i * 7) % 500)).ToArray(), 1, length),
                ["attention_mask"] = Tensor.Create(Enumerable.Repeat(1L, length).ToArray(), 1, length),
                ["token_type_ids"] = Tensor.Create(new long[length], 1, length),
            },
        };

        var alone = (await Inference.InferAsync(Request(3, 24))).Outputs["last_hidden_state"].ToArray<float>();
        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => Inference.InferAsync(Request(i, i % 2 == 0 ? 16 : 24)))));
        Assert.Equal([1L, 24L, 64L], results[1].Outputs["last_hidden_state"].Shape.ToArray());
        var together = results[3].Outputs["last_hidden_state"].ToArray<float>();
        Assert.Equal(alone.Length, together.Length);
        for (var j = 0; j < alone.Length; j++) Assert.Equal(alone[j], together[j], 3);
    }

    [Fact]
    public async Task InferAsync_WrongDatatype_IsInvalidInputNamingTheInput()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => Inference.InferAsync(new InferenceRequest
        {
            ModelId = "mlp",
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new double[64], 1, 64) },
        }));
        Assert.Contains("input 'x' expects float32[?,64], got float64[1,64]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cache_RealSessionsUnderARealMemoryLimit_EvictsTheLeastRecentlyUsed()
    {
        // The figures come from the models' initializers, so a second load has the figure of the first one that sets the limits.
        await using var provider = CreateProvider(_dir.Path, new BatchingOptions { MaxBatchSize = 64 });
        var cache = provider.GetRequiredService<IModelCache>();
        var inference = provider.GetRequiredService<IInferenceService>();
        await inference.InferAsync(MlpRequest(1));
        var bertResult = await inference.InferAsync(new InferenceRequest
        {
            ModelId = "bert",
            Inputs = new Dictionary<string, Tensor>
            {
                ["input_ids"] = Tensor.Create(new long[] { 1, 2, 3 }, 1, 3),
                ["attention_mask"] = Tensor.Create(new long[] { 1, 1, 1 }, 1, 3),
                ["token_type_ids"] = Tensor.Create(new long[3], 1, 3),
            },
        });
        Assert.Equal([1L, 3L, 64L], bertResult.Outputs["last_hidden_state"].Shape.ToArray());
        var stats = cache.GetStats();
        Assert.Equal(2, stats.Count);
        var bert = stats.Entries.Single(e => e.Key.ModelId == "bert");
        var mlp = stats.Entries.Single(e => e.Key.ModelId == "mlp");

        // A limit that fits the encoder but not both: the MLP (least recently used) goes.
        cache.Resize(memoryLimitBytes: bert.MemoryBytes + (mlp.MemoryBytes / 2));
        stats = cache.GetStats();
        Assert.Equal(["bert"], stats.Entries.Select(e => e.Key.ModelId));
        Assert.True(stats.Evictions >= 1);

        // Using the MLP again loads it and evicts the encoder in turn.
        cache.Resize(memoryLimitBytes: Math.Max(bert.MemoryBytes, mlp.MemoryBytes) + 1);
        await inference.InferAsync(MlpRequest(2));
        Assert.Equal(["mlp"], cache.GetStats().Entries.Select(e => e.Key.ModelId));
        Assert.Equal(mlp.MemoryBytes, cache.GetStats().Entries.Single().MemoryBytes);
        Assert.All(cache.GetStats().Entries, e => Assert.Equal(Backends.MemoryMeasurement.InitializerEstimate, e.MemoryMeasurement));
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        _dir.Dispose();
    }
}
