using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Inference;
using ModelKit.Onnx;
using ModelKit.Registry;

namespace ModelKit.Benchmarks;

/// <summary>
/// The model cache's accounting against the process's real memory: two models served on demand in turn under a limit
/// that holds one of them but not both, so every switch evicts one and loads the other. After each eviction and each
/// load it prints the process's resident memory (<c>/proc/self/statm</c>) next to what the cache accounts, and it checks
/// every output against a plain ONNX Runtime run. Run it in its own process: nothing else may load models meanwhile.
/// </summary>
internal static partial class CacheMemoryDriver
{
    public static async Task<int> RunAsync(string[] models, int rounds)
    {
        var paths = models.Select(BenchModels.PathOf).ToArray();
        var backend = new OnnxBackend(Options.Create(new OnnxRuntimeOptions { IntraOpThreads = 1 }));
        var figures = new long[models.Length];
        for (var i = 0; i < models.Length; i++) figures[i] = (await backend.EstimateMemoryAsync(new ModelLoadRequest(paths[i])))!.Value;
        var limit = figures.Max() + (figures.Min() / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{Environment.ProcessorCount} cores, ONNX Runtime {OnnxBackend.RuntimeVersion}, {DateTimeOffset.UtcNow:yyyy-MM-dd}; cache limit {Mib(limit)} MiB (holds one model, not both)"));
        for (var i = 0; i < models.Length; i++)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {models[i]}: file {Mib(new FileInfo(paths[i]).Length)} MiB, tensors {Mib(OnnxInitializerSize.Read(paths[i]) ?? 0)} MiB, figure {Mib(figures[i])} MiB"));
        }

        // The reference outputs, from plain sessions created and dropped before the baseline is taken.
        var expected = new float[models.Length][];
        for (var i = 0; i < models.Length; i++) expected[i] = RunDirect(models[i]);

        var recorder = new RecordingBackend(backend);
        var services = new ServiceCollection();
        services.AddSingleton<IInferenceBackend>(recorder);
        services.AddModelKit(o => o.DataDirectory = Path.Combine(Path.GetTempPath(), "modelkit-bench-data", Guid.NewGuid().ToString("N")))
            .ConfigureCache(c => c.MemoryLimitBytes = limit);
        await using var provider = services.BuildServiceProvider();
        var registry = provider.GetRequiredService<IModelRegistry>();
        for (var i = 0; i < models.Length; i++) await registry.RegisterFileAsync(new ModelDefinition { Id = models[i], Name = models[i] }, paths[i]);
        var inference = provider.GetRequiredService<IInferenceService>();
        var cache = provider.GetRequiredService<IModelCache>();
        recorder.Cache = cache;

        var (baselineFound, baseline) = Read();
        var table = new StringBuilder();
        table.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"baseline (registry and runtime up, no model loaded): resident {Mib(baselineFound)} MiB, {Mib(baseline)} MiB after malloc_trim"));
        table.AppendLine();
        table.AppendLine("| step | event | resident (MiB) | after malloc_trim (MiB) | trimmed − baseline (MiB) | cache accounts (MiB) | loaded | evictions | max \\|Δ\\| vs direct run |");
        table.AppendLine("|---|---|---|---|---|---|---|---|---|");
        Console.Write(table);
        var peakAboveBaseline = 0L;
        recorder.Row = (what, difference) =>
        {
            var stats = cache.GetStats();
            var (found, trimmed) = Read();
            peakAboveBaseline = Math.Max(peakAboveBaseline, trimmed - baseline);
            var line = string.Create(CultureInfo.InvariantCulture,
                $"| {++recorder.Step} | {what} | {Mib(found)} | {Mib(trimmed)} | {Mib(trimmed - baseline)} | {Mib(stats.MemoryBytes)} | {string.Join(", ", stats.Entries.Select(e => e.Key.ModelId))} | {stats.Evictions} | {difference} |");
            table.AppendLine(line);
            Console.WriteLine(line);
        };

        var worst = 0f;
        for (var round = 0; round < rounds; round++)
        {
            for (var i = 0; i < models.Length; i++)
            {
                recorder.Model = models[i];
                var result = await inference.InferAsync(new InferenceRequest { ModelId = models[i], Inputs = BenchModels.Inputs(models[i], 0) });
                recorder.Previous = models[i];
                var actual = result.Outputs.Values.First().ToArray<float>();
                var difference = actual.Length == expected[i].Length ? MaxDifference(actual, expected[i]) : float.PositiveInfinity;
                worst = Math.Max(worst, difference);
                recorder.Row($"{models[i]} loaded and ran", difference == 0 ? "0" : difference.ToString("0.0e0", CultureInfo.InvariantCulture));
            }
        }

        var final = cache.GetStats();
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"loads {final.Loads}, evictions {final.Evictions}, largest output difference {worst:0.0e0}; trimmed resident memory above the baseline peaked at {Mib(peakAboveBaseline)} MiB against a limit of {Mib(limit)} MiB"));
        var ok = worst < 1e-3f && final.Evictions == (rounds * models.Length) - 1;
        Console.WriteLine(ok ? "ok" : "FAILED: outputs differ from the direct runs or a switch did not evict");
        return ok ? 0 : 1;
    }

    private static float[] RunDirect(string model)
    {
        using var session = BenchModels.CreateSession(model, intraOpThreads: 1);
        using var runOptions = new RunOptions();
        return BenchModels.RunRaw(session, runOptions, [.. session.InputNames], [session.OutputNames[0]], BenchModels.Inputs(model, 0));
    }

    private static float MaxDifference(float[] a, float[] b)
    {
        var max = 0f;
        for (var i = 0; i < a.Length; i++) max = Math.Max(max, Math.Abs(a[i] - b[i]));
        return max;
    }

    // The resident set as found (managed garbage collected first), and again once the C heap has handed its free pages
    // back: glibc keeps freed memory in its arenas, so the first reading also counts memory that no session holds any more.
    private static (long Found, long Trimmed) Read()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        var found = ResidentBytes();
        if (OperatingSystem.IsLinux()) _ = MallocTrim(0);
        return (found, ResidentBytes());
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    private static long ResidentBytes()
    {
        // /proc/self/statm: size resident shared text lib data dt, in pages.
        var fields = File.ReadAllText("/proc/self/statm").Split(' ');
        return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    private static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("F1", CultureInfo.InvariantCulture);

    /// <summary>
    /// The ONNX Runtime backend, writing a row as each load starts: by then the cache has admitted the model and evicted
    /// what it had to (the evicted session is disposed at once, as no run holds it).
    /// </summary>
    private sealed class RecordingBackend(OnnxBackend inner) : IInferenceBackend
    {
        public IModelCache? Cache { get; set; }

        public string Model { get; set; } = string.Empty;

        public string? Previous { get; set; }

        public Action<string, string> Row { get; set; } = (_, _) => { };

        public int Step { get; set; }

        public string Framework => inner.Framework;

        public ValueTask<long?> EstimateMemoryAsync(ModelLoadRequest request, CancellationToken cancellationToken = default) =>
            inner.EstimateMemoryAsync(request, cancellationToken);

        public ValueTask<IModelSession> LoadAsync(ModelLoadRequest request, CancellationToken cancellationToken = default)
        {
            if (Cache is not null)
            {
                Row(Previous is null ? $"{Model} admitted, nothing to evict" : $"{Previous} evicted, {Model} admitted", string.Empty);
            }

            return inner.LoadAsync(request, cancellationToken);
        }
    }
}
