using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Benchmarks;

/// <summary>The models under test and how to build inputs for them; shared by the BenchmarkDotNet suites and the load driver.</summary>
internal static class BenchModels
{
    public const int SequenceLength = 128;

    public static string Directory { get; } = Path.Combine(Path.GetTempPath(), "modelkit-bench-models");

    public static string PathOf(string model)
    {
        if (model == "minilm") return MiniLmFiles()[0];
        var path = Path.Combine(Directory, model + ".onnx");
        if (!File.Exists(path))
        {
            var bytes = model switch
            {
                "mlp" => DemoModels.CreateMlp(),
                "bert-small" => DemoModels.CreateBertEncoder(new BertSpec { Layers = 4, Hidden = 256, Heads = 4, Vocabulary = 8000 }),
                _ => throw new ArgumentException("Unknown model " + model, nameof(model)),
            };
            DemoModels.Write(path, bytes);
        }

        return path;
    }

    /// <summary>
    /// all-MiniLM-L6-v2 (sentence-transformers) from the machine's one extracted copy (<see cref="PretrainedModels.MiniLmDirectory"/>):
    /// the paths in <see cref="PretrainedModels.MiniLmFiles"/>'s order (model.onnx first, then vocab.txt).
    /// </summary>
    public static IReadOnlyList<string> MiniLmFiles() => [.. PretrainedModels.MiniLmFiles.Select(name => Path.Combine(PretrainedModels.MiniLmDirectory, name))];

    /// <summary>The generation benchmark's decoder: GPT-2 vocabulary, 6 layers, hidden 512, 8 heads (≈ 45M parameters), random weights.</summary>
    public static DecoderSpec DecoderSpec { get; } = new() { Layers = 6, Hidden = 512, Heads = 8 };

    /// <summary>
    /// The folder of <see cref="DecoderSpec"/>'s decoder (<see cref="DecoderModels.DirectoryFiles"/>: model.onnx, config, GPT-2's
    /// tokenizer), written once under <see cref="Directory"/> and reused by later runs.
    /// </summary>
    public static string DecoderDirectory()
    {
        var directory = Path.Combine(Directory, $"gpt2-decoder-{DecoderSpec.Layers}x{DecoderSpec.Hidden}x{DecoderSpec.Heads}");
        if (!DecoderModels.DirectoryFiles.All(name => File.Exists(Path.Combine(directory, name))))
        {
            DecoderModels.WriteGpt2DecoderDirectory(directory, DecoderSpec);
        }

        return directory;
    }

    public static Dictionary<string, Tensor> Inputs(string model, int seed)
    {
        if (model == "mlp")
        {
            var x = new float[64];
            for (var i = 0; i < x.Length; i++) x[i] = MathF.Sin(seed + i);
            return new() { ["x"] = Tensor.Create(x, 1, 64) };
        }

        var ids = new long[SequenceLength];
        for (var i = 0; i < ids.Length; i++) ids[i] = ((seed * 31) + (i * 7)) % 8000;
        var mask = new long[SequenceLength];
        Array.Fill(mask, 1L);
        return new()
        {
            ["input_ids"] = Tensor.Create(ids, 1, SequenceLength),
            ["attention_mask"] = Tensor.Create(mask, 1, SequenceLength),
            ["token_type_ids"] = Tensor.Create(new long[SequenceLength], 1, SequenceLength),
        };
    }

    /// <summary>A ModelKit host with the model registered under a temporary data directory.</summary>
    public static async Task<(ServiceProvider Provider, IInferenceService Inference)> CreateHostAsync(string model, int instances, int maxBatch, int intraOpThreads, bool inline = false)
    {
        var data = Path.Combine(Path.GetTempPath(), "modelkit-bench-data", Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection();
        services.AddModelKit(o => o.DataDirectory = data)
            .AddOnnxRuntime(o => o.IntraOpThreads = intraOpThreads)
            .ConfigureInference(o => o.DefaultBatching = new BatchingOptions { MaxBatchSize = maxBatch, Instances = instances, MaxQueueSize = 100_000, InlineExecution = inline });
        var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<IModelRegistry>();
        await registry.RegisterFileAsync(new ModelDefinition { Id = model, Name = model }, PathOf(model));

        var inference = provider.GetRequiredService<IInferenceService>();
        await inference.InferAsync(new InferenceRequest { ModelId = model, Inputs = Inputs(model, 0) });
        return (provider, inference);
    }

    /// <summary>A plain ONNX Runtime session with the same settings, for the baselines.</summary>
    public static InferenceSession CreateSession(string model, int intraOpThreads)
    {
        using var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        return new InferenceSession(PathOf(model), options);
    }

    /// <summary>One raw run: wrap the inputs in OrtValues over the managed arrays, run, copy the first output out.</summary>
    public static float[] RunRaw(InferenceSession session, RunOptions runOptions, string[] inputNames, string[] outputNames, Dictionary<string, Tensor> inputs)
    {
        var values = new OrtValue[inputNames.Length];
        try
        {
            for (var i = 0; i < inputNames.Length; i++)
            {
                var t = inputs[inputNames[i]];
                values[i] = t.ElementType == TensorElementType.Float32
                    ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, t.AsMemory<float>(), t.Shape.ToArray())
                    : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, t.AsMemory<long>(), t.Shape.ToArray());
            }

            using var results = session.Run(runOptions, inputNames, values, outputNames);
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }
}
