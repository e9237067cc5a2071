using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using ModelKit.ModelGenerator;
using ModelKit.Onnx.Text;
using ModelKit.Onnx.Text.Generation;
using ModelKit.Registry;
using ModelKit.Serving;
using ModelKit.Text;

namespace ModelKit.Benchmarks;

/// <summary>
/// Text generation on the benchmark decoder (<see cref="BenchModels.DecoderSpec"/>: GPT-2 vocabulary, 6 layers, hidden
/// 512, 8 heads, random weights) under 1, 4, 16 … concurrent streams. A stream is a loop of requests: stream <c>s</c>
/// sends prompts <c>s</c>, <c>s + N</c>, … of a fixed set of distinct prompts (16–64 GPT-2 tokens, cut from the
/// Gettysburg Address), greedy, <c>max_tokens</c> tokens each. Contenders, interleaved in rounds so that machine noise
/// hits all alike:
/// <list type="number">
/// <item>ModelKit: <see cref="ITextGenerationService.GenerateStreamingAsync"/> from N async streams (continuous batching,
/// KV cache); and once with 1 stream through a second service with <see cref="TextGenerationOptions.UseKvCache"/> off
/// (every step recomputes the whole sequence);</item>
/// <item>per-request loop (what a user writes by hand): one <see cref="InferenceSession"/> on the same model.onnx with
/// the same settings, each request tokenizes its prompt, runs its own prefill and then one <c>Run</c> per token with its
/// own <c>past_key_values</c> (batch 1), greedy with <see cref="TensorPrimitives.IndexOfMax{T}(ReadOnlySpan{T})"/>;
/// N threads call the shared session at once.</item>
/// </list>
/// Reports aggregate and per-stream tokens/s, time to first token and inter-token latency (p50/p95), and the ratios:
/// ModelKit N streams ÷ ModelKit 1 stream, ModelKit ÷ the loop at each N, KV cache ÷ recompute. Before the contenders it
/// checks that ModelKit's greedy tokens equal the loop's, and times raw decoding steps at batch 1, 4, 16, … (the model's
/// own batching limit, for reading where the time goes). Results: docs/benchmarks.md, "Text generation".
/// </summary>
internal static class GenerationLoadDriver
{
    private const string ModelId = "gpt2-bench";
    private const int PromptCount = 256;
    private const int MinPromptTokens = 16;
    private const int MaxPromptTokens = 64;

    // The warm-up of a point: long enough for the staggered first requests to have given way to the steady mix (at 16
    // streams all 16 prefills come first), so it grows with the streams.
    private static TimeSpan WarmupFor(int streams) => TimeSpan.FromSeconds(2 + (0.25 * streams));

    public static async Task<int> RunAsync(TimeSpan duration, int maxTokens, int[] streamCounts, int[] threadCounts, int rounds)
    {
        var directory = BenchModels.DecoderDirectory();
        var tokenizer = ModelTokenizers.LoadFromDirectory(directory)
            ?? throw new InvalidOperationException($"The decoder folder '{directory}' has no tokenizer files; delete it so that it is written again.");
        var prompts = CreatePrompts(tokenizer, PromptCount, seed: 5);
        var lengths = prompts.Select(p => tokenizer.Tokenizer.EncodeToIds(p).Count).ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"decoder: {BenchModels.DecoderSpec.Layers} layers, hidden {BenchModels.DecoderSpec.Hidden}, {BenchModels.DecoderSpec.Heads} heads, vocabulary {BenchModels.DecoderSpec.Vocabulary} ({new FileInfo(Path.Combine(directory, "model.onnx")).Length / 1e6:F0} MB) in {directory}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"prompts: {prompts.Length}, {lengths.Min()}–{lengths.Max()} tokens (mean {lengths.Average():F1}); e.g. \"{prompts[0]}\"; greedy, max_tokens {maxTokens}"));

        var report = new StringBuilder();
        report.AppendLine("| intra-op threads | contender | streams | aggregate tokens/s (rounds) | median | per stream: mean (min) | TTFT p50 / p95 (ms) | inter-token p50 / p95 (ms) | requests done | cores busy (others) | tokens per CPU-s | vs loop, same streams | vs itself at 1 stream | of the parts' prediction: ORT at the mean past / at the padded past, with copies and sampling |");
        report.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        var limits = new StringBuilder();
        var rebuilds = new Dictionary<(int Threads, int Rows), double>();
        var predictions = new Dictionary<(int Threads, int Streams), (double OrtOnly, double WithCopies)>();
        foreach (var threads in threadCounts)
        {
            var (provider, service) = await CreateHostAsync(threads, directory);
            using var recompute = new TextGenerationService(
                provider.GetRequiredService<IModelRouter>(), provider.GetRequiredService<IModelRegistry>(), Options.Create(new TextGenerationOptions { UseKvCache = false }));
            using var sessionOptions = new SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            using var session = new InferenceSession(Path.Combine(directory, "model.onnx"), sessionOptions);
            var baseline = new Baseline(session, tokenizer, DecoderModels.EndOfTextTokenId);
            Console.WriteLine($"-- {threads} intra-op thread(s) (ModelKit's OnnxRuntimeOptions.IntraOpThreads and the loop's session)");

            // Correctness, once: ModelKit's greedy tokens equal the hand-written loop's, alone and with the whole set at once.
            var checkedPrompts = prompts.Take(8).ToArray();
            var expected = checkedPrompts.Select(p => baseline.Generate(p, maxTokens, onToken: null)).ToArray();
            var alone = new List<IReadOnlyList<int>>();
            foreach (var p in checkedPrompts) alone.Add(await GenerateIdsAsync(service, p, maxTokens));
            var together = await Task.WhenAll(checkedPrompts.Select(p => GenerateIdsAsync(service, p, maxTokens)));
            for (var i = 0; i < checkedPrompts.Length; i++)
            {
                if (!alone[i].SequenceEqual(expected[i]) || !together[i].SequenceEqual(expected[i]))
                {
                    Console.WriteLine($"FAIL: ModelKit's greedy tokens differ from the per-request loop's on prompt {i} (\"{checkedPrompts[i]}\"):");
                    Console.WriteLine($"  loop     [{string.Join(", ", expected[i])}]");
                    Console.WriteLine($"  alone    [{string.Join(", ", alone[i])}]");
                    Console.WriteLine($"  together [{string.Join(", ", together[i])}]");
                    return 1;
                }
            }

            Console.WriteLine($"correctness: ModelKit's greedy tokens = the loop's for {checkedPrompts.Length} prompts, one at a time and all at once ({expected.Sum(e => e.Count)} tokens)");

            // The parts of a step, measured alone: one ORT decoding step at batch B over a past of the mean length, one
            // prefill of a mean prompt, sampling one row (copy its logits out, argmax), one rebuild of the batch's cache
            // (fresh native tensors, cleared, every row's slots copied in: what the engine does when a row joins or leaves).
            var prompt = (int)Math.Round(lengths.Average());
            var past = (int)Math.Round(lengths.Average() + (maxTokens / 2.0));
            var prefill = baseline.StepMilliseconds(rows: 1, sequence: prompt, past: 0);
            var sample = SampleMilliseconds(BenchModels.DecoderSpec.Vocabulary);
            limits.AppendLine(string.Create(CultureInfo.InvariantCulture, $"| {threads} | 1 | prefill, {prompt} tokens | {prefill:F1} | — | sampling a row: {sample * 1000:F0} µs | — |"));
            var steps = new Dictionary<int, double>();
            var paddedSteps = new Dictionary<int, double>();
            foreach (var rows in streamCounts.Append(32).Distinct().Order())
            {
                // The engine's batch has as many slots as its longest row: the others' are masked but computed (and
                // copied by every step's Concat), so a step over N rows costs a step at the longest row's past.
                var padded = PaddedPast(lengths, rows, maxTokens);
                var step = steps[rows] = baseline.StepMilliseconds(rows, sequence: 1, past);
                var paddedStep = paddedSteps[rows] = padded == past ? step : baseline.StepMilliseconds(rows, sequence: 1, padded);
                var rebuild = RebuildMilliseconds(rows, padded);
                rebuilds[(threads, rows)] = rebuild;
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"| {threads} | {rows} | decode step, past {past} (padded to the longest row: {padded}) | {step:F1} ({paddedStep:F1}) | {rows * 1000 / step:F0} ({rows * 1000 / paddedStep:F0}) | {rows * sample:F2} ms | {rebuild:F1} ms |");
                limits.AppendLine(line);
                Console.WriteLine("  parts " + line);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  parts: prefill of {prompt} tokens {prefill:F1} ms; sampling {sample * 1000:F0} µs a row"));

            // What N streams would give if the engine's time were these parts alone: per request, max_tokens decoding steps
            // shared by N rows, its prefill, and (second figure) the steps at the padded past, its sampling and one rebuild
            // (a row leaving and the next joining meet in one).
            foreach (var n in streamCounts)
            {
                var ortOnly = n * maxTokens * 1000 / ((maxTokens * steps[n]) + (n * prefill));
                var withCopies = n * maxTokens * 1000 / ((maxTokens * (paddedSteps[n] + (n * sample))) + (n * (prefill + rebuilds[(threads, n)])));
                predictions[(threads, n)] = (ortOnly, withCopies);
            }

            var contenders = new List<(string Name, int Streams, Func<Task<Point>> Run)>();
            foreach (var n in streamCounts)
            {
                contenders.Add(("ModelKit", n, () => RunModelKitAsync(service, prompts, n, maxTokens, duration)));
                contenders.Add(("per-request loop", n, () => Task.Run(() => RunLoop(baseline, prompts, n, maxTokens, duration))));
            }

            contenders.Add(("ModelKit, KV cache off (recompute)", 1, () => RunModelKitAsync(recompute, prompts, 1, maxTokens, duration)));

            var results = new Point[contenders.Count, rounds];
            for (var r = 0; r < rounds; r++)
            {
                for (var c = 0; c < contenders.Count; c++)
                {
                    var cpu = MeasureCpuAsync(WarmupFor(contenders[c].Streams), duration);
                    var point = await contenders[c].Run();
                    point = point with { Cpu = await cpu };
                    results[c, r] = point;
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  round {r + 1} {contenders[c].Name} × {contenders[c].Streams}: {point.Aggregate:F1} tokens/s, TTFT p50 {point.FirstToken.P50:F0} ms p95 {point.FirstToken.P95:F0} ms, inter-token p50 {point.InterToken.P50:F1} ms p95 {point.InterToken.P95:F1} ms, {point.Requests} requests; {point.Cpu.Own:F2} cores busy (others {point.Cpu.Others:F2}), {point.Aggregate / point.Cpu.Own:F0} tokens per CPU-s"));
                }
            }

            for (var c = 0; c < contenders.Count; c++)
            {
                var (name, n, _) = contenders[c];
                var points = Enumerable.Range(0, rounds).Select(r => results[c, r]).ToArray();
                var loopIndex = contenders.FindIndex(x => x.Name == "per-request loop" && x.Streams == n);
                var oneIndex = contenders.FindIndex(x => x.Name == name && x.Streams == 1);
                var versusLoop = loopIndex < 0 || loopIndex == c ? "—" : Ratio(results, c, loopIndex, rounds);
                var versusOne = name == "ModelKit, KV cache off (recompute)"
                    ? $"{Ratio(results, c, contenders.FindIndex(x => x.Name == "ModelKit" && x.Streams == 1), rounds)} (KV on ÷ off: {Ratio(results, contenders.FindIndex(x => x.Name == "ModelKit" && x.Streams == 1), c, rounds)})"
                    : oneIndex < 0 || oneIndex == c ? "—" : Ratio(results, c, oneIndex, rounds);
                var streamRates = points.Select(p => p.PerStreamMean).ToArray();
                var ofPrediction = name == "ModelKit" && predictions.TryGetValue((threads, n), out var predicted)
                    ? string.Create(CultureInfo.InvariantCulture,
                        $"{Median(points.Select(p => p.Aggregate)) / predicted.OrtOnly:P0} of {predicted.OrtOnly:F0} / {Median(points.Select(p => p.Aggregate)) / predicted.WithCopies:P0} of {predicted.WithCopies:F0}")
                    : "—";
                report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {threads} | {name} | {n} | {string.Join(" / ", points.Select(p => p.Aggregate.ToString("F0", CultureInfo.InvariantCulture)))} | **{Median(points.Select(p => p.Aggregate)):F0}** | {Median(streamRates):F1} ({Median(points.Select(p => p.PerStreamMin)):F1}) | {Ms(points, p => p.FirstToken.P50, "F0")} / {Ms(points, p => p.FirstToken.P95, "F0")} | {Ms(points, p => p.InterToken.P50, "F1")} / {Ms(points, p => p.InterToken.P95, "F1")} | {Median(points.Select(p => (double)p.Requests)):F0} | {Median(points.Select(p => p.Cpu.Own)):F2} ({Median(points.Select(p => p.Cpu.Others)):F2}) | {Median(points.Select(p => p.Aggregate / p.Cpu.Own)):F0} | {versusLoop} | {versusOne} | {ofPrediction} |"));
            }

            await provider.DisposeAsync();
        }

        Console.WriteLine();
        Console.WriteLine("The parts of a step, each measured alone (ORT runs on the loop's session; medians of repeated runs):");
        Console.WriteLine("| intra-op threads | rows | ORT run | ms per run | tokens/s if every step were this | sampling the rows | one rebuild of the cache |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        Console.Write(limits);
        Console.WriteLine();
        Console.Write(report);
        return 0;
    }

    private static async Task<(ServiceProvider Provider, ITextGenerationService Service)> CreateHostAsync(int threads, string directory)
    {
        var data = Path.Combine(Path.GetTempPath(), "modelkit-bench-data", Guid.NewGuid().ToString("N"));
        var services = new ServiceCollection();
        services.AddModelKit(o => o.DataDirectory = data)
            .AddOnnxRuntime(o => o.IntraOpThreads = threads)
            .ConfigureCache(c => c.MemoryLimitBytes = 4L << 30);
        var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<IModelRegistry>();
        var files = new List<ArtifactSource>();
        foreach (var name in DecoderModels.DirectoryFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(directory, name)));
        await registry.RegisterAsync(new ModelDefinition { Id = ModelId, Name = ModelId }, files);
        var service = provider.GetRequiredService<ITextGenerationService>();
        await service.GenerateAsync(Greedy("Warm the model up.", 4));
        return (provider, service);
    }

    private static TextGenerationRequest Greedy(string prompt, int maxTokens) =>
        new() { ModelId = ModelId, Prompt = prompt, MaxTokens = maxTokens, Temperature = 0 };

    private static async Task<IReadOnlyList<int>> GenerateIdsAsync(ITextGenerationService service, string prompt, int maxTokens) =>
        (await service.GenerateAsync(Greedy(prompt, maxTokens))).Choices[0].TokenIds;

    /// <summary>
    /// <paramref name="count"/> distinct prompts cut from the Gettysburg Address (public domain, in the generator): prompt
    /// <c>k</c> starts at a word of its own and runs (wrapping round) until it has a seeded target of 16–64 GPT-2 tokens.
    /// </summary>
    private static string[] CreatePrompts(ModelTokenizer tokenizer, int count, int seed)
    {
        var words = DecoderModels.GettysburgAddress.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var random = new Random(seed);
        var prompts = new List<string>(count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var k = 0; prompts.Count < count; k++)
        {
            var target = random.Next(MinPromptTokens, MaxPromptTokens + 1);
            var start = (k * 37) % words.Length;
            var text = new StringBuilder(words[start]);
            for (var w = start + 1; tokenizer.Tokenizer.EncodeToIds(text.ToString()).Count < target; w++)
            {
                text.Append(' ').Append(words[w % words.Length]);
            }

            if (seen.Add(text.ToString())) prompts.Add(text.ToString());
        }

        return [.. prompts];
    }

    /// <summary>One contender at one stream count over the timed window.</summary>
    private sealed record Point(double Aggregate, double PerStreamMean, double PerStreamMin, Percentiles FirstToken, Percentiles InterToken, int Requests)
    {
        public (double Own, double Others) Cpu { get; init; }
    }

    private readonly record struct Percentiles(double P50, double P95);

    /// <summary>
    /// What one stream saw in the timed window: tokens that arrived in it, the time to first token of requests that started
    /// in it, the gaps between a request's consecutive tokens that both arrived in it, and the requests that ended in it.
    /// </summary>
    private sealed class StreamLog(long warmupEnd, long end)
    {
        public long Tokens { get; private set; }

        public int Requests { get; private set; }

        public List<double> FirstToken { get; } = new(256);

        public List<double> InterToken { get; } = new(4096);

        public long End => end;

        /// <summary>A token of the request that started at <paramref name="start"/> arrived now; returns now, the next call's <paramref name="previous"/> (0 before the first token).</summary>
        public long Token(long start, long previous)
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= warmupEnd && now < end)
            {
                Tokens++;
                if (previous == 0)
                {
                    if (start >= warmupEnd) FirstToken.Add(Stopwatch.GetElapsedTime(start, now).TotalMilliseconds);
                }
                else if (previous >= warmupEnd)
                {
                    InterToken.Add(Stopwatch.GetElapsedTime(previous, now).TotalMilliseconds);
                }
            }

            return now;
        }

        public void Finished()
        {
            var now = Stopwatch.GetTimestamp();
            if (now >= warmupEnd && now < end) Requests++;
        }
    }

    private static (long WarmupEnd, long End) Window(int streams, TimeSpan duration)
    {
        var warmupEnd = Stopwatch.GetTimestamp() + (long)(WarmupFor(streams).TotalSeconds * Stopwatch.Frequency);
        return (warmupEnd, warmupEnd + (long)(duration.TotalSeconds * Stopwatch.Frequency));
    }

    private static async Task<Point> RunModelKitAsync(ITextGenerationService service, string[] prompts, int streams, int maxTokens, TimeSpan duration)
    {
        var (warmupEnd, end) = Window(streams, duration);
        using var stop = new CancellationTokenSource(WarmupFor(streams) + duration);
        var logs = new StreamLog[streams];
        var tasks = new Task[streams];
        for (var s = 0; s < streams; s++)
        {
            var index = s;
            var log = logs[s] = new StreamLog(warmupEnd, end);
            tasks[s] = Task.Run(async () =>
            {
                for (var k = index; Stopwatch.GetTimestamp() < end; k += streams)
                {
                    var request = Greedy(prompts[k % prompts.Length], k == index ? FirstMaxTokens(index, streams, maxTokens) : maxTokens);
                    var start = Stopwatch.GetTimestamp();
                    long previous = 0;
                    try
                    {
                        await foreach (var update in service.GenerateStreamingAsync(request, stop.Token).ConfigureAwait(false))
                        {
                            if (update.TokenIds.Count > 0) previous = log.Token(start, previous);
                        }
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        return;
                    }

                    log.Finished();
                }
            });
        }

        await Task.WhenAll(tasks);
        return Summarise(logs, duration);
    }

    private static Point RunLoop(Baseline baseline, string[] prompts, int streams, int maxTokens, TimeSpan duration)
    {
        var (warmupEnd, end) = Window(streams, duration);
        var logs = new StreamLog[streams];
        var threads = new Thread[streams];
        for (var s = 0; s < streams; s++)
        {
            var index = s;
            var log = logs[s] = new StreamLog(warmupEnd, end);
            threads[s] = new Thread(() =>
            {
                for (var k = index; Stopwatch.GetTimestamp() < end; k += streams)
                {
                    var start = Stopwatch.GetTimestamp();
                    long previous = 0;
                    var limit = k == index ? FirstMaxTokens(index, streams, maxTokens) : maxTokens;
                    var done = baseline.Generate(prompts[k % prompts.Length], limit, () =>
                    {
                        previous = log.Token(start, previous);
                        return previous < end; // the window is over: stop, as a cancelled ModelKit stream does
                    });
                    if (done.Count == limit || done.Count > 0 && done[^1] == DecoderModels.EndOfTextTokenId) log.Finished();
                }
            }) { IsBackground = true, Name = $"generation loop {index}" };
        }

        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        return Summarise(logs, duration);
    }

    // Stream s's first request stops after (s + 1)/N of max_tokens, so that the streams' requests end at different steps
    // from the start, as in a steady flow (else all N would start, and end, together: static batching).
    private static int FirstMaxTokens(int stream, int streams, int maxTokens) => Math.Max(1, maxTokens * (stream + 1) / streams);

    private static Point Summarise(StreamLog[] logs, TimeSpan duration)
    {
        var perStream = logs.Select(l => l.Tokens / duration.TotalSeconds).ToArray();
        return new Point(
            perStream.Sum(),
            perStream.Average(),
            perStream.Min(),
            Percentile(logs.SelectMany(l => l.FirstToken)),
            Percentile(logs.SelectMany(l => l.InterToken)),
            logs.Sum(l => l.Requests));
    }

    private static Percentiles Percentile(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        double At(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
        return new Percentiles(At(0.50), At(0.95));
    }

    // Per round (both measured within a minute of each other), then the median over rounds.
    private static string Ratio(Point[,] results, int c, int over, int rounds) =>
        over < 0 ? "—" : string.Create(CultureInfo.InvariantCulture, $"{Median(Enumerable.Range(0, rounds).Select(r => results[c, r].Aggregate / results[over, r].Aggregate)):F2}×");

    // The median over rounds of a latency, "—" where no round had one (no request started in the window).
    private static string Ms(Point[] points, Func<Point, double> value, string format)
    {
        var known = points.Select(value).Where(v => !double.IsNaN(v)).ToArray();
        return known.Length == 0 ? "—" : Median(known).ToString(format, CultureInfo.InvariantCulture);
    }

    private static double Median(IEnumerable<double> values) => BenchStats.Median(values);

    // The process's CPU over the timed window of the point that starts now, in cores, and the rest of the machine's.
    private static async Task<(double Own, double Others)> MeasureCpuAsync(TimeSpan warmup, TimeSpan duration)
    {
        var (own, others) = await BenchStats.MeasureCpuAsync(warmup, duration).ConfigureAwait(false);
        return (own / duration.TotalSeconds, others / duration.TotalSeconds);
    }

    // The expected slots of an engine batch of `rows` rows in the steady flow: the longest row's length, each row a prompt
    // of the set plus a uniform share of max_tokens generated so far (seeded Monte Carlo).
    private static int PaddedPast(int[] promptLengths, int rows, int maxTokens)
    {
        var random = new Random(3);
        double sum = 0;
        const int Samples = 4000;
        for (var i = 0; i < Samples; i++)
        {
            var longest = 0;
            for (var r = 0; r < rows; r++) longest = Math.Max(longest, promptLengths[random.Next(promptLengths.Length)] + random.Next(maxTokens));
            sum += longest;
        }

        return rows == 1 ? (int)Math.Round(promptLengths.Average() + (maxTokens / 2.0)) : (int)Math.Round(sum / Samples);
    }

    // One row's sampling as the engine does it for greedy: copy the row's logits out of the output, argmax.
    private static double SampleMilliseconds(int vocabulary)
    {
        var logits = new float[vocabulary * 4];
        for (var i = 0; i < logits.Length; i++) logits[i] = MathF.Sin(i);
        var row = new float[vocabulary];
        var times = new List<double>();
        var sink = 0;
        for (var rep = 0; rep < 2000; rep++)
        {
            var start = Stopwatch.GetTimestamp();
            logits.AsSpan((rep % 4) * vocabulary, vocabulary).CopyTo(row);
            sink += TensorPrimitives.IndexOfMax<float>(row);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        GC.KeepAlive(sink);
        return Median(times);
    }

    // One rebuild of a batch of `rows` rows of `slots` cached tokens, as the engine's Rebuild does it: per layer key and
    // value, a fresh native tensor [rows, heads, slots, head_dim], cleared, each row's and head's slots copied in.
    private static double RebuildMilliseconds(int rows, int slots)
    {
        var spec = BenchModels.DecoderSpec;
        var headSize = spec.Hidden / spec.Heads;
        var slotBytes = headSize * sizeof(float);
        var source = new byte[rows * spec.Heads * slots * slotBytes];
        var times = new List<double>();
        var budget = Stopwatch.StartNew();
        for (var rep = 0; rep < 5 || budget.Elapsed < TimeSpan.FromSeconds(0.5); rep++)
        {
            var start = Stopwatch.GetTimestamp();
            for (var t = 0; t < 2 * spec.Layers; t++)
            {
                using var tensor = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, [rows, spec.Heads, slots, headSize]);
                var destination = tensor.GetTensorMutableRawData();
                destination.Clear();
                for (var r = 0; r < rows * spec.Heads; r++)
                {
                    source.AsSpan(r * slots * slotBytes, slots * slotBytes).CopyTo(destination[(r * slots * slotBytes)..]);
                }
            }

            if (rep > 0) times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return Median(times);
    }

    /// <summary>
    /// The hand-written generation loop: tokenize, one prefill <c>Run</c> over the prompt with empty pasts, then one
    /// <c>Run</c> per token with the previous <c>present</c> tensors as <c>past_key_values</c> (batch 1), greedy. Thread-safe
    /// (ONNX Runtime's <c>Run</c> is; each call keeps its own cache).
    /// </summary>
    private sealed class Baseline
    {
        private readonly InferenceSession _session;
        private readonly ModelTokenizer _tokenizer;
        private readonly int _endToken;
        private readonly int _layers;
        private readonly int _heads;
        private readonly int _headSize;
        private readonly int _vocabulary;
        private readonly int _context;
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;
        private readonly RunOptions _runOptions = new();

        public Baseline(InferenceSession session, ModelTokenizer tokenizer, int endToken)
        {
            _session = session;
            _tokenizer = tokenizer;
            _endToken = endToken;
            var spec = BenchModels.DecoderSpec;
            (_layers, _heads, _headSize, _vocabulary, _context) = (spec.Layers, spec.Heads, spec.Hidden / spec.Heads, spec.Vocabulary, spec.MaxPositions);
            var inputs = new List<string> { "input_ids", "attention_mask", "position_ids" };
            var outputs = new List<string> { "logits" };
            for (var l = 0; l < _layers; l++)
            {
                inputs.Add($"past_key_values.{l}.key");
                inputs.Add($"past_key_values.{l}.value");
                outputs.Add($"present.{l}.key");
                outputs.Add($"present.{l}.value");
            }

            _inputNames = [.. inputs];
            _outputNames = [.. outputs];
        }

        /// <summary>
        /// Generates up to <paramref name="maxTokens"/> tokens for <paramref name="prompt"/>, calling <paramref name="onToken"/>
        /// after each (false stops); returns the tokens (the end token included when it came).
        /// </summary>
        public List<int> Generate(string prompt, int maxTokens, Func<bool>? onToken)
        {
            var promptIds = _tokenizer.Tokenizer.EncodeToIds(prompt);
            var generated = new List<int>(maxTokens);
            var ids = new long[promptIds.Count];
            var positions = new long[promptIds.Count];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = promptIds[i];
                positions[i] = i;
            }

            var length = ids.Length;
            long[] emptyShape = [1, _heads, 0, _headSize];
            IDisposableReadOnlyCollection<OrtValue>? previous = null;
            try
            {
                while (true)
                {
                    var mask = new long[length];
                    Array.Fill(mask, 1L);
                    var values = new OrtValue[_inputNames.Length];
                    IDisposableReadOnlyCollection<OrtValue> results;
                    try
                    {
                        values[0] = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
                        values[1] = OrtValue.CreateTensorValueFromMemory(mask, [1, length]);
                        values[2] = OrtValue.CreateTensorValueFromMemory(positions, [1, positions.Length]);
                        for (var i = 3; i < values.Length; i++)
                        {
                            values[i] = previous is null
                                ? OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float, emptyShape)
                                : previous[i - 2];
                        }

                        results = _session.Run(_runOptions, _inputNames, values, _outputNames);
                    }
                    finally
                    {
                        // The empty pasts and the id tensors are ours; the pasts from the previous step go with its results.
                        for (var i = 0; i < values.Length; i++)
                        {
                            if (i < 3 || previous is null) values[i]?.Dispose();
                        }
                    }

                    previous?.Dispose();
                    previous = results;
                    var logits = results[0].GetTensorDataAsSpan<float>();
                    var token = TensorPrimitives.IndexOfMax(logits.Slice((ids.Length - 1) * _vocabulary, _vocabulary));
                    generated.Add(token);
                    if (onToken is not null && !onToken()) return generated;
                    if (token == _endToken || generated.Count >= maxTokens || length >= _context) return generated;

                    ids = [token];
                    positions = [length];
                    length++;
                }
            }
            finally
            {
                previous?.Dispose();
            }
        }

        /// <summary>The median time of one <c>Run</c> over <paramref name="rows"/> rows of <paramref name="sequence"/> new tokens after <paramref name="past"/> cached ones (zeros), over about a second.</summary>
        public double StepMilliseconds(int rows, int sequence, int past)
        {
            var ids = new long[rows * sequence];
            var positions = new long[rows * sequence];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = 464 + (i * 13 % 1000);
                positions[i] = past + (i % sequence);
            }

            var mask = new long[rows * (past + sequence)];
            Array.Fill(mask, 1L);
            var cache = new float[rows * _heads * past * _headSize];
            var values = new OrtValue[_inputNames.Length];
            try
            {
                values[0] = OrtValue.CreateTensorValueFromMemory(ids, [rows, sequence]);
                values[1] = OrtValue.CreateTensorValueFromMemory(mask, [rows, past + sequence]);
                values[2] = OrtValue.CreateTensorValueFromMemory(positions, [rows, sequence]);
                for (var i = 3; i < values.Length; i++) values[i] = OrtValue.CreateTensorValueFromMemory(cache, [rows, _heads, past, _headSize]);
                var times = new List<double>();
                var budget = Stopwatch.StartNew();
                for (var run = 0; run < 3 || budget.Elapsed < TimeSpan.FromSeconds(1); run++)
                {
                    var start = Stopwatch.GetTimestamp();
                    using (_session.Run(_runOptions, _inputNames, values, _outputNames))
                    {
                    }

                    if (run > 0) times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds); // the first run warms up
                }

                return Median(times);
            }
            finally
            {
                foreach (var v in values) v?.Dispose();
            }
        }
    }
}
