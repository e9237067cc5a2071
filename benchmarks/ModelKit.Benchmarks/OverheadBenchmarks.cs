using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Inference;
using ModelKit.Tensors;

namespace ModelKit.Benchmarks;

/// <summary>
/// Batch-1 latency: a raw <c>InferenceSession.Run</c> (inputs wrapped over managed arrays, output copied out)
/// against the same call through <see cref="IInferenceService"/> (resolve, validate, queue, lease, run, split).
/// Both use one session setting: intra-op threads = 2 (the machine's cores).
/// </summary>
[MemoryDiagnoser]
public class OverheadBenchmarks
{
    private ServiceProvider _provider = null!;
    private IInferenceService _inference = null!;
    private InferenceSession _session = null!;
    private RunOptions _runOptions = null!;
    private string[] _inputNames = null!;
    private string[] _outputNames = null!;
    private Dictionary<string, Tensor> _inputs = null!;
    private InferenceRequest _request = null!;

    /// <summary>The models measured: <c>MODELKIT_BENCH_MODELS</c> (comma-separated) or both.</summary>
    public static IEnumerable<string> Models => Environment.GetEnvironmentVariable("MODELKIT_BENCH_MODELS")?.Split(',') ?? ["mlp", "bert-small"];

    [ParamsSource(nameof(Models))]
    public string Model { get; set; } = "mlp";

    /// <summary><see cref="Scheduling.BatchingOptions.InlineExecution"/>: off is the default; on spares the thread hop.</summary>
    [Params(false, true)]
    public bool Inline { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        (_provider, _inference) = await BenchModels.CreateHostAsync(Model, instances: 1, maxBatch: 64, intraOpThreads: 2, inline: Inline);
        _session = BenchModels.CreateSession(Model, intraOpThreads: 2);
        _runOptions = new RunOptions();
        _inputNames = [.. _session.InputNames];
        _outputNames = [.. _session.OutputNames];
        _inputs = BenchModels.Inputs(Model, 1);
        _request = new InferenceRequest { ModelId = Model, Inputs = _inputs };
    }

    [Benchmark(Baseline = true, Description = "raw session.Run")]
    public float[] Raw() => BenchModels.RunRaw(_session, _runOptions, _inputNames, _outputNames, _inputs);

    [Benchmark(Description = "ModelKit InferAsync")]
    public async Task<InferenceResult> ModelKit() => await _inference.InferAsync(_request);

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _session.Dispose();
        _runOptions.Dispose();
        await _provider.DisposeAsync();
    }
}
