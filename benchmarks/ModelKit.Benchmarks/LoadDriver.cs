using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Inference;

namespace ModelKit.Benchmarks;

/// <summary>
/// Concurrent callers for a fixed time: N threads each calling <c>session.Run</c> on one shared session (the baseline)
/// against N async callers through ModelKit's batching queue. Reports throughput and p50/p95/p99 per request.
/// </summary>
internal static class LoadDriver
{
    public static async Task<string> RunAsync(string[] models, int[] callerCounts, TimeSpan duration)
    {
        var report = new StringBuilder();
        report.AppendLine("| model | callers | direct req/s | direct p50 / p95 (ms) | ModelKit req/s | ModelKit p50 / p95 / p99 (ms) | throughput ratio | p95 ratio |");
        report.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var model in models)
        {
            var maxBatch = model == "mlp" ? 64 : 16;
            var (provider, inference) = await BenchModels.CreateHostAsync(model, instances: 2, maxBatch, intraOpThreads: 1);
            using var session = BenchModels.CreateSession(model, intraOpThreads: 1);
            foreach (var callers in callerCounts)
            {
                // MODELKIT_LOAD_SKIP_DIRECT=1 leaves out the baseline, for profiling ModelKit's side alone.
                var direct = Environment.GetEnvironmentVariable("MODELKIT_LOAD_SKIP_DIRECT") == "1"
                    ? new Result(double.NaN, double.NaN, double.NaN, double.NaN)
                    : RunDirect(session, model, callers, duration);
                // MODELKIT_LOAD_BATCHES=1 prints the mean batch size the queue formed (listening costs some throughput).
                using var batches = BatchSizeListener.StartIf(Environment.GetEnvironmentVariable("MODELKIT_LOAD_BATCHES") == "1");
                var kit = await RunModelKitAsync(inference, model, callers, duration);
                if (batches is not null) Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{model}, {callers} callers: {batches.Batches:N0} batches, mean {batches.Mean:F1} requests"));
                var line = string.Create(CultureInfo.InvariantCulture,
                    $"| {model} | {callers} | {direct.Throughput:N0} | {direct.P50:F2} / {direct.P95:F2} | {kit.Throughput:N0} | {kit.P50:F2} / {kit.P95:F2} / {kit.P99:F2} | {kit.Throughput / direct.Throughput:F2}× | {kit.P95 / direct.P95:F2}× |");
                report.AppendLine(line);
                Console.WriteLine(line);
            }

            await provider.DisposeAsync();
        }

        return report.ToString();
    }

    internal sealed record Result(double Throughput, double P50, double P95, double P99);

    private static Result RunDirect(InferenceSession session, string model, int callers, TimeSpan duration)
    {
        using var runOptions = new RunOptions();
        string[] inputNames = [.. session.InputNames];
        string[] outputNames = [.. session.OutputNames];
        return RunThreads(callers, duration, index =>
        {
            var inputs = BenchModels.Inputs(model, index);
            return () => BenchModels.RunRaw(session, runOptions, inputNames, outputNames, inputs);
        });
    }

    /// <summary>
    /// <paramref name="callers"/> threads, each calling the action <paramref name="callerFor"/> built for it (its own
    /// inputs, made before the clock starts) until the time is up; the first <paramref name="warmup"/> (default 0.5 s) is
    /// not measured.
    /// </summary>
    internal static Result RunThreads(int callers, TimeSpan duration, Func<int, Action> callerFor, TimeSpan? warmup = null)
    {
        var latencies = new List<double>[callers];
        var warmupEnd = Stopwatch.GetTimestamp() + (long)((warmup ?? TimeSpan.FromSeconds(0.5)).TotalSeconds * Stopwatch.Frequency);
        var end = warmupEnd + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var threads = new Thread[callers];
        for (var c = 0; c < callers; c++)
        {
            var index = c;
            var call = callerFor(index);
            latencies[c] = new List<double>(1 << 16);
            threads[c] = new Thread(() =>
            {
                while (true)
                {
                    var start = Stopwatch.GetTimestamp();
                    if (start >= end) break;
                    call();
                    if (start >= warmupEnd) latencies[index].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            }) { IsBackground = true };
        }

        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        return Summarise(latencies, duration);
    }

    internal static Task<Result> RunModelKitAsync(IInferenceService inference, string model, int callers, TimeSpan duration) =>
        RunCallersAsync(callers, duration, index =>
        {
            var request = new InferenceRequest { ModelId = model, Inputs = BenchModels.Inputs(model, index) };
            return () => inference.InferAsync(request);
        });

    /// <summary>
    /// The asynchronous counterpart of <see cref="RunThreads"/>: <paramref name="callers"/> tasks each await their call
    /// (made by <paramref name="callerFor"/> before the clock starts) until the time is up; the first <paramref name="warmup"/>
    /// (default 0.5 s) is not measured.
    /// </summary>
    internal static async Task<Result> RunCallersAsync(int callers, TimeSpan duration, Func<int, Func<Task>> callerFor, TimeSpan? warmup = null)
    {
        var latencies = new List<double>[callers];
        var calls = Enumerable.Range(0, callers).Select(callerFor).ToArray();
        var warmupEnd = Stopwatch.GetTimestamp() + (long)((warmup ?? TimeSpan.FromSeconds(0.5)).TotalSeconds * Stopwatch.Frequency);
        var end = warmupEnd + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = new Task[callers];
        for (var c = 0; c < callers; c++)
        {
            var index = c;
            latencies[c] = new List<double>(1 << 16);
            tasks[c] = Task.Run(async () =>
            {
                while (true)
                {
                    var start = Stopwatch.GetTimestamp();
                    if (start >= end) break;
                    await calls[index]().ConfigureAwait(false);
                    if (start >= warmupEnd) latencies[index].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            });
        }

        await Task.WhenAll(tasks);
        return Summarise(latencies, duration);
    }

    internal static Result Summarise(List<double>[] latencies, TimeSpan duration)
    {
        var all = latencies.SelectMany(l => l).Order().ToArray();
        double Percentile(double p) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)(p * all.Length))];
        return new Result(all.Length / duration.TotalSeconds, Percentile(0.50), Percentile(0.95), Percentile(0.99));
    }

    // Counts the batches the queue forms, from ModelKit's batch-size histogram.
    private sealed class BatchSizeListener : IDisposable
    {
        private readonly MeterListener _listener = new();
        private long _batches;
        private long _requests;

        private BatchSizeListener()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == ModelKit.Diagnostics.ModelKitTelemetry.BatchSize) listener.EnableMeasurementEvents(instrument);
            };
            _listener.SetMeasurementEventCallback<int>((_, size, _, _) =>
            {
                Interlocked.Increment(ref _batches);
                Interlocked.Add(ref _requests, size);
            });
            _listener.Start();
        }

        public long Batches => Interlocked.Read(ref _batches);

        public double Mean => Batches == 0 ? double.NaN : (double)Interlocked.Read(ref _requests) / Batches;

        public static BatchSizeListener? StartIf(bool enabled) => enabled ? new BatchSizeListener() : null;

        public void Dispose() => _listener.Dispose();
    }
}
