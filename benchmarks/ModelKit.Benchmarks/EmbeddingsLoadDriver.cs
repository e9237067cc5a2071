using ModelKit.Text;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Tokenizers;
using ModelKit.ModelGenerator;
using ModelKit.Onnx.Text;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace ModelKit.Benchmarks;

/// <summary>
/// Sentence embeddings on the real all-MiniLM-L6-v2 under 64 concurrent callers, each embedding one text per call, for
/// two workloads (short: 7–32 tokens; mixed: 8–256 tokens, uniform over lengths). Contenders, run with the same texts
/// and interleaved in rounds (A B C, A B C, …) so that machine noise hits all alike:
/// <list type="number">
/// <item>ModelKit: <see cref="ITextEmbeddingService.EmbedAsync"/>, one text per call, from N async callers;</item>
/// <item>per-string loop (how Semantic Kernel's ONNX connector works): one default <see cref="InferenceSession"/> that the
/// callers share through a FIFO semaphore, so that each string runs alone: BertTokenizer → one <c>Run</c> with [1, L]
/// inputs (no padding) → mean pooling and L2 norm in C#;</item>
/// <item>direct: the same session and pipeline, N threads calling <c>Run</c> concurrently, no lock.</item>
/// </list>
/// Reports throughput (texts/s) and p50/p95 per call, the median over rounds, and the ratios to the per-string loop.
/// </summary>
/// <remarks>
/// ModelKit's deployments come from <c>MODELKIT_EMBED_CONFIGS</c>: a comma-separated list of
/// <c>{instances}x{intraOpThreads}/b{maxBatch}/d{maxQueueDelayMs}[/t{maxBatchTokens}]</c> (the token budget sets the queue's
/// MaxBatchElements and the service's MaxChunkTokens), each one more contender (default <see cref="DefaultConfig"/>).
/// <c>MODELKIT_EMBED_WORKLOADS=short</c> (or <c>mixed</c>) runs one workload; <c>MODELKIT_EMBED_SKIP_DIRECT=1</c> leaves out
/// the 64 direct threads. Results and their reading: docs/benchmarks.md, "Text embeddings (all-MiniLM-L6-v2)".
/// </remarks>
internal static class EmbeddingsLoadDriver
{
    public const string DefaultConfig = "2x1/b64/d0";
    private const string ModelId = "all-MiniLM-L6-v2";
    private const int TextsPerWorkload = 400;

    public static async Task<int> RunAsync(TimeSpan duration, int callers, int rounds)
    {
        var files = BenchModels.MiniLmFiles();
        var tokenizer = BertTokenizer.Create(files[1], new BertOptions { LowerCaseBeforeTokenization = true });
        (string Name, string[] Texts)[] workloads =
        [
            ("short", BenchTexts.Create(tokenizer, TextsPerWorkload, 7, 32, seed: 7)),
            ("mixed", BenchTexts.Create(tokenizer, TextsPerWorkload, 8, 256, seed: 8)),
        ];
        // MODELKIT_EMBED_WORKLOADS=short (or mixed) runs one of them.
        if (Environment.GetEnvironmentVariable("MODELKIT_EMBED_WORKLOADS") is { Length: > 0 } only)
        {
            workloads = [.. workloads.Where(w => only.Split(',').Contains(w.Name))];
        }

        foreach (var (name, texts) in workloads)
        {
            var lengths = texts.Select(t => tokenizer.EncodeToIds(t, addSpecialTokens: true).Count).ToArray();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"workload {name}: {texts.Length} texts, {lengths.Min()}–{lengths.Max()} tokens (mean {lengths.Average():F1}); e.g. \"{texts[0]}\""));
        }

        var configs = (Environment.GetEnvironmentVariable("MODELKIT_EMBED_CONFIGS") ?? DefaultConfig).Split(',', StringSplitOptions.RemoveEmptyEntries);
        var hosts = new List<(string Name, ServiceProvider Provider, ITextEmbeddingService Service)>();
        foreach (var config in configs) hosts.Add(await CreateHostAsync(config, files));

        using var sessionOptions = new SessionOptions(); // defaults, as Semantic Kernel's connector creates it
        using var session = new InferenceSession(files[0], sessionOptions);
        var baseline = new Baseline(session, tokenizer);
        Console.WriteLine($"baseline session: inputs {string.Join(", ", session.InputNames)}; output '{baseline.OutputName}'; {sessionOptions.IntraOpNumThreads} intra-op threads (0 = ORT's default, one per core)");

        // Correctness, once: ModelKit's vector for a text equals the baseline's pooled vector to 1e-4.
        var worst = 0f;
        var checkedTexts = 0;
        foreach (var (_, texts) in workloads)
        {
            foreach (var text in texts.Take(16).Append(texts.MaxBy(t => t.Length)!))
            {
                var expected = baseline.Embed(text);
                checkedTexts++;
                foreach (var (name, _, service) in hosts)
                {
                    var actual = (await service.EmbedAsync(new TextEmbeddingRequest { ModelId = ModelId, Texts = [text] })).Embeddings[0];
                    var diff = MaxAbsDifference(expected, actual);
                    worst = Math.Max(worst, diff);
                    if (diff > 1e-4f)
                    {
                        Console.WriteLine($"FAIL: ModelKit ({name}) differs from the baseline by {diff:E2} on \"{text}\"");
                        return 1;
                    }
                }
            }
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"correctness: ModelKit = baseline to {worst:E2} (max |difference|, {checkedTexts} texts, bound 1e-4)"));

        var contenders = new List<(string Name, Func<string[], Task<LoadDriver.Result>> Run)>();
        // Each contender's window also measures the process's CPU time, since other builds share this machine: texts
        // per CPU-second tell how much work a contender spends per text whatever share of the cores it got.
        foreach (var (name, provider, service) in hosts)
        {
            var router = provider.GetRequiredService<IModelRouter>();
            contenders.Add(($"ModelKit {name}", async texts =>
            {
                var before = BatchQueueStats.Sum(router.GetQueueStats().Values);
                var result = await RunModelKitAsync(service, texts, callers, duration);
                var after = BatchQueueStats.Sum(router.GetQueueStats().Values);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"    ({after.Succeeded - before.Succeeded} texts in {after.Batches - before.Batches} runs: {(after.Succeeded - before.Succeeded) / (double)Math.Max(1, after.Batches - before.Batches):F1} texts per run, warm-up included)"));
                return result;
            }));
        }

        contenders.Add(("per-string loop", texts => RunLoopAsync(baseline, texts, callers, duration)));
        if (Environment.GetEnvironmentVariable("MODELKIT_EMBED_SKIP_DIRECT") != "1")
        {
            contenders.Add(($"{callers} threads direct", texts => Task.FromResult(RunDirect(baseline, texts, callers, duration))));
        }

        var loopIndex = hosts.Count;
        var directIndex = contenders.Count > loopIndex + 1 ? loopIndex + 1 : -1;
        var report = new StringBuilder();
        report.AppendLine("| workload | contender | texts/s (rounds) | median texts/s | p50 / p95 (ms), median | texts per CPU-s, median | throughput vs loop | p95 vs loop | throughput / p95 vs direct |");
        report.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var (workload, texts) in workloads)
        {
            var results = new LoadDriver.Result[contenders.Count, rounds];
            var perCpu = new double[contenders.Count, rounds];
            for (var r = 0; r < rounds; r++)
            {
                for (var c = 0; c < contenders.Count; c++)
                {
                    var cpu = MeasureCpuAsync(duration);
                    var result = await contenders[c].Run(texts);
                    var (cpuSeconds, othersSeconds) = await cpu;
                    results[c, r] = result;
                    perCpu[c, r] = result.Throughput * duration.TotalSeconds / cpuSeconds;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {workload} round {r + 1} {contenders[c].Name}: {result.Throughput:F1} texts/s, p50 {result.P50:F1} ms, p95 {result.P95:F1} ms, p99 {result.P99:F1} ms; {perCpu[c, r]:F1} texts per CPU-s ({cpuSeconds / duration.TotalSeconds:F2} cores busy; other processes {othersSeconds / duration.TotalSeconds:F2} cores)"));
                }
            }

            for (var c = 0; c < contenders.Count; c++)
            {
                var throughputs = Enumerable.Range(0, rounds).Select(r => results[c, r].Throughput).ToArray();
                // Ratios per round (both measured within seconds of each other), then the median over rounds.
                var throughputRatio = Median(Enumerable.Range(0, rounds).Select(r => results[c, r].Throughput / results[loopIndex, r].Throughput));
                var p95Ratio = Median(Enumerable.Range(0, rounds).Select(r => results[c, r].P95 / results[loopIndex, r].P95));
                var versusDirect = directIndex < 0 ? "—" : string.Create(CultureInfo.InvariantCulture,
                    $"{Median(Enumerable.Range(0, rounds).Select(r => results[c, r].Throughput / results[directIndex, r].Throughput)):F2}× / {Median(Enumerable.Range(0, rounds).Select(r => results[c, r].P95 / results[directIndex, r].P95)):F2}×");
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"| {workload} | {contenders[c].Name} | {string.Join(" / ", throughputs.Select(t => t.ToString("F0", CultureInfo.InvariantCulture)))} | {Median(throughputs):F0} | {Median(Enumerable.Range(0, rounds).Select(r => results[c, r].P50)):F0} / {Median(Enumerable.Range(0, rounds).Select(r => results[c, r].P95)):F0} | {Median(Enumerable.Range(0, rounds).Select(r => perCpu[c, r])):F1} | {throughputRatio:F2}× | {p95Ratio:F2}× | {versusDirect} |");
                report.AppendLine(line);
            }
        }

        Console.WriteLine();
        Console.Write(report);
        foreach (var (_, provider, _) in hosts) await provider.DisposeAsync();
        return 0;
    }

    private static async Task<(string Name, ServiceProvider Provider, ITextEmbeddingService Service)> CreateHostAsync(string config, IReadOnlyList<string> files)
    {
        // {instances}x{intraOpThreads}/b{maxBatch}/d{maxQueueDelayMs}[/t{maxBatchTokens}]
        var parts = config.Split('/');
        long? tokens = parts.Length > 3 ? long.Parse(parts[3].AsSpan(1), CultureInfo.InvariantCulture) : null;
        var shape = parts[0].Split('x');
        var instances = int.Parse(shape[0], CultureInfo.InvariantCulture);
        var threads = int.Parse(shape[1], CultureInfo.InvariantCulture);
        var maxBatch = int.Parse(parts[1].AsSpan(1), CultureInfo.InvariantCulture);
        var delay = double.Parse(parts[2].AsSpan(1), CultureInfo.InvariantCulture);

        var data = Path.Combine(Path.GetTempPath(), "modelkit-bench-data", Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection();
        services.AddModelKit(o => o.DataDirectory = data)
            .AddOnnxRuntime(o => o.IntraOpThreads = threads)
            .ConfigureCache(c => c.MemoryLimitBytes = 4L << 30)
            .ConfigureInference(o => o.DefaultBatching = new BatchingOptions
            {
                MaxBatchSize = maxBatch,
                Instances = instances,
                MaxQueueDelay = TimeSpan.FromMilliseconds(delay),
                MaxQueueSize = 100_000,
                MaxBatchElements = tokens,
            })
            .ConfigureTextEmbeddings(o => o.MaxChunkTokens = tokens is { } t ? (int)t : int.MaxValue);
        var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<IModelRegistry>();
        await PretrainedModels.RegisterMiniLmAsync(registry, new ModelDefinition { Id = ModelId, Name = ModelId, Task = "feature-extraction" });
        var service = provider.GetRequiredService<ITextEmbeddingService>();
        await service.EmbedAsync(new TextEmbeddingRequest { ModelId = ModelId, Texts = ["Warm the deployment up."] });
        return (config, provider, service);
    }

    // The warm-up of each timed window: long enough for every caller to have run a few calls (and the runtime to have
    // seen the batch shapes), since one call waits behind up to 63 others.
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(1.5);

    // Caller c embeds texts c, c + N, c + 2N, … (mod the count): every contender sends the same texts in the same order.
    private static Func<string> TextsFor(string[] texts, int caller, int callers)
    {
        var next = caller;
        return () =>
        {
            var text = texts[next % texts.Length];
            next += callers;
            return text;
        };
    }

    private static Task<LoadDriver.Result> RunModelKitAsync(ITextEmbeddingService service, string[] texts, int callers, TimeSpan duration) =>
        LoadDriver.RunCallersAsync(callers, duration, index =>
        {
            var nextText = TextsFor(texts, index, callers);
            return () => service.EmbedAsync(new TextEmbeddingRequest { ModelId = ModelId, Texts = [nextText()] });
        }, Warmup);

    private static Task<LoadDriver.Result> RunLoopAsync(Baseline baseline, string[] texts, int callers, TimeSpan duration)
    {
        var gate = new SemaphoreSlim(1, 1); // asynchronous waiters are released in arrival order
        return LoadDriver.RunCallersAsync(callers, duration, index =>
        {
            var nextText = TextsFor(texts, index, callers);
            return async () =>
            {
                var text = nextText();
                await gate.WaitAsync().ConfigureAwait(false);
                try
                {
                    baseline.Embed(text);
                }
                finally
                {
                    gate.Release();
                }
            };
        }, Warmup);
    }

    private static LoadDriver.Result RunDirect(Baseline baseline, string[] texts, int callers, TimeSpan duration) =>
        LoadDriver.RunThreads(callers, duration, index =>
        {
            var nextText = TextsFor(texts, index, callers);
            return () => baseline.Embed(nextText());
        }, Warmup);

    private static Task<(double Own, double Others)> MeasureCpuAsync(TimeSpan duration) => BenchStats.MeasureCpuAsync(Warmup, duration);

    private static float MaxAbsDifference(float[] a, float[] b)
    {
        if (a.Length != b.Length) return float.PositiveInfinity;
        var worst = 0f;
        for (var i = 0; i < a.Length; i++) worst = Math.Max(worst, Math.Abs(a[i] - b[i]));
        return worst;
    }

    private static double Median(IEnumerable<double> values) => BenchStats.Median(values);

    /// <summary>
    /// The per-string pipeline of Semantic Kernel's BERT ONNX connector, with the OrtValue APIs: tokenize (with
    /// <c>[CLS]</c>/<c>[SEP]</c>), one <c>Run</c> with [1, L] inputs and no padding, mean pooling over the tokens, L2 norm.
    /// Thread-safe (ONNX Runtime's <c>Run</c> is).
    /// </summary>
    private sealed class Baseline
    {
        private const int MaxTokens = 256; // all-MiniLM-L6-v2's max_seq_length
        private readonly InferenceSession _session;
        private readonly BertTokenizer _tokenizer;
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;
        private readonly RunOptions _runOptions = new();

        public Baseline(InferenceSession session, BertTokenizer tokenizer)
        {
            _session = session;
            _tokenizer = tokenizer;
            _inputNames = [.. session.InputNames];
            var output = session.OutputMetadata.FirstOrDefault(o => o.Key is "last_hidden_state" or "token_embeddings").Key
                ?? session.OutputMetadata.First(o => o.Value.Dimensions.Length == 3).Key;
            _outputNames = [output];
        }

        public string OutputName => _outputNames[0];

        public float[] Embed(string text)
        {
            var tokens = _tokenizer.EncodeToIds(text, addSpecialTokens: true);
            var length = Math.Min(tokens.Count, MaxTokens);
            var ids = new long[length];
            for (var i = 0; i < length; i++) ids[i] = tokens[i];
            if (tokens.Count > MaxTokens) ids[^1] = _tokenizer.SeparatorTokenId;
            var mask = new long[length];
            Array.Fill(mask, 1L);
            var typeIds = new long[length];
            long[] shape = [1, length];

            var values = new OrtValue[_inputNames.Length];
            try
            {
                for (var i = 0; i < values.Length; i++)
                {
                    var data = _inputNames[i] switch
                    {
                        "input_ids" => ids,
                        "attention_mask" => mask,
                        _ => typeIds,
                    };
                    values[i] = OrtValue.CreateTensorValueFromMemory(data, shape);
                }

                using var outputs = _session.Run(_runOptions, _inputNames, values, _outputNames);
                var hidden = outputs[0].GetTensorDataAsSpan<float>();
                var width = hidden.Length / length;
                var vector = new float[width];
                for (var t = 0; t < length; t++) TensorPrimitives.Add(vector, hidden.Slice(t * width, width), vector);
                TensorPrimitives.Divide(vector, length, vector);
                TensorPrimitives.Divide(vector, TensorPrimitives.Norm(vector), vector);
                return vector;
            }
            finally
            {
                foreach (var v in values) v?.Dispose();
            }
        }
    }
}
