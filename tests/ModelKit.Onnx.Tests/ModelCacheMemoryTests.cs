using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Inference;
using ModelKit.Onnx;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests;

/// <summary>The cache's accounting over real ONNX Runtime sessions: stable figures, and a limit that holds while models alternate.</summary>
public sealed class ModelCacheMemoryTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly OnnxBackend _backend = new(Options.Create(new OnnxRuntimeOptions { IntraOpThreads = 1 }));

    [Fact]
    public async Task AcquireAsync_SameModelReloadedWhileOtherWorkRuns_ReportsTheSameFigureEveryTime()
    {
        var load = new ModelLoadRequest(TestModels.BertTiny);
        var key = new ModelCacheKey("bert", "1", ExecutionDevice.Cpu);
        var expected = await _backend.EstimateMemoryAsync(load);
        Assert.NotNull(expected);
        using var cache = new ModelCache(Options.Create(new ModelCacheOptions { MemoryLimitBytes = 1L << 30 }), [_backend]);

        // Beside the loads under test: other sessions created and dropped, and managed memory taken, touched and let go.
        using var stop = new CancellationTokenSource();
        var otherLoads = Task.Run(async () =>
        {
            string[] others = [TestModels.Mlp, TestModels.OcrClassifier, TestModels.MlpV2];
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                using var session = await _backend.LoadAsync(new ModelLoadRequest(others[i % others.Length]));
            }
        });
        var allocations = Task.Run(() =>
        {
            var held = new List<byte[]>();
            while (!stop.IsCancellationRequested)
            {
                var block = new byte[16 << 20];
                Array.Fill(block, (byte)1);
                held.Add(block);
                if (held.Count > 4) held.RemoveAt(0);
            }
        });

        var figures = new List<(long Bytes, MemoryMeasurement Method)>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                using (var lease = await cache.AcquireAsync(key, load))
                {
                    figures.Add((lease.Session.MemoryBytes, lease.Session.MemoryMeasurement));
                    Assert.Equal(lease.Session.MemoryBytes, cache.GetStats().MemoryBytes);
                }

                Assert.True(cache.Remove(key));
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(otherLoads, allocations);
        }

        Assert.All(figures, f => Assert.Equal((expected.Value, MemoryMeasurement.InitializerEstimate), f));
        Assert.Equal(8, cache.GetStats().Loads);
    }

    [Fact]
    public async Task InferAsync_AlternatingTwoModelsThatFitOnlyOneAtATime_KeepsCorrectOutputsAndEvictsOnEverySwitch()
    {
        var bertFigure = (await _backend.EstimateMemoryAsync(new ModelLoadRequest(TestModels.BertTiny)))!.Value;
        var ocrFigure = (await _backend.EstimateMemoryAsync(new ModelLoadRequest(TestModels.OcrClassifier)))!.Value;
        var limit = Math.Max(bertFigure, ocrFigure) + (Math.Min(bertFigure, ocrFigure) / 2);
        Assert.True(bertFigure + ocrFigure > limit);

        var services = new ServiceCollection().AddLogging();
        services.AddModelKit(o => o.DataDirectory = _dir.Path)
            .AddOnnxRuntime(o => o.IntraOpThreads = 1)
            .ConfigureCache(c => c.MemoryLimitBytes = limit);
        await using var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<IModelRegistry>();
        await registry.RegisterFileAsync(new ModelDefinition { Id = "bert", Name = "BERT tiny" }, TestModels.BertTiny);
        await registry.RegisterFileAsync(new ModelDefinition { Id = "ocr-cls", Name = "PaddleOCR classifier" }, TestModels.OcrClassifier);
        var inference = provider.GetRequiredService<IInferenceService>();
        var cache = provider.GetRequiredService<IModelCache>();

        var bertInputs = new Dictionary<string, Tensor>
        {
            ["input_ids"] = Tensor.Create(new long[] { 101, 7, 42, 99, 102 }, 1, 5),
            ["attention_mask"] = Tensor.Create(new long[] { 1, 1, 1, 1, 1 }, 1, 5),
            ["token_type_ids"] = Tensor.Create(new long[5], 1, 5),
        };
        var pixels = new float[3 * 48 * 192];
        for (var i = 0; i < pixels.Length; i++) pixels[i] = MathF.Sin(i * 0.01f);
        var ocrInputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(pixels, 1, 3, 48, 192) };
        var expectedBert = RunDirect(TestModels.BertTiny, bertInputs);
        var expectedOcr = RunDirect(TestModels.OcrClassifier, ocrInputs);

        for (var round = 0; round < 3; round++)
        {
            foreach (var (model, inputs, expected, figure) in new[] { ("bert", bertInputs, expectedBert, bertFigure), ("ocr-cls", ocrInputs, expectedOcr, ocrFigure) })
            {
                var evictionsBefore = cache.GetStats().Evictions;
                var result = await inference.InferAsync(new InferenceRequest { ModelId = model, Inputs = inputs });
                var actual = result.Outputs.Values.Single().ToArray<float>();
                Assert.Equal(expected.Length, actual.Length);
                for (var j = 0; j < expected.Length; j++) Assert.Equal(expected[j], actual[j], 4);

                var stats = cache.GetStats();
                var entry = Assert.Single(stats.Entries);
                Assert.Equal((model, figure), (entry.Key.ModelId, entry.MemoryBytes));
                Assert.Equal(figure, stats.MemoryBytes);
                Assert.True(stats.MemoryBytes <= limit);
                var firstLoad = round == 0 && model == "bert";
                Assert.Equal(firstLoad ? evictionsBefore : evictionsBefore + 1, stats.Evictions);
            }
        }

        Assert.Equal(6, cache.GetStats().Loads);
    }

    // The first output of one run on a plain ONNX Runtime session, for comparison.
    private static float[] RunDirect(string path, Dictionary<string, Tensor> inputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(path, options);
        var names = inputs.Keys.ToArray();
        var values = new OrtValue[names.Length];
        try
        {
            for (var i = 0; i < names.Length; i++)
            {
                var t = inputs[names[i]];
                values[i] = t.ElementType == TensorElementType.Float32
                    ? OrtValue.CreateTensorValueFromMemory(t.ToArray<float>(), t.Shape.ToArray())
                    : OrtValue.CreateTensorValueFromMemory(t.ToArray<long>(), t.Shape.ToArray());
            }

            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, names, values, [session.OutputNames[0]]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    public void Dispose() => _dir.Dispose();
}
