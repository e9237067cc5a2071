// ModelKit's benchmarks.
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- load [seconds] [models] [callers]   concurrent load driver (direct vs ModelKit)
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- --filter '*' --job short   BenchmarkDotNet suites
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- http [seconds] [models] [clients]   REST (loopback Kestrel) vs in-process
//   ModelKit.Benchmarks gpu <libonnxruntime_providers_cuda.so> <out-dir>   CUDA probe and GPU hot path (see docs/gpu.md)
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- cache [rounds] [modelA,modelB]   cache accounting vs resident memory
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- embed [seconds] [callers] [rounds]   text embeddings on all-MiniLM-L6-v2: ModelKit vs a per-string loop vs direct threads
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- generate [seconds] [maxTokens] [streams] [intraOpThreads] [rounds]   text generation (45M decoder): ModelKit vs a per-request loop
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- download [rounds]   MiniLM from a local hub: ModelKit's download manager vs GET + sha256 by hand
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- bodies <model.onnx> <out-dir> [sequence=32] [model_id]   compare-rest.sh's request bodies (PeerBodies)
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- write-model <mlp|bert-small> <path>   a generated benchmark model as a file
//   dotnet run -c Release --project benchmarks/ModelKit.Benchmarks -- charts <results.csv> <out-dir> [caption] [svg|png]   charts of benchmarks/peers/compare-rest.sh's results
using BenchmarkDotNet.Running;
using ModelKit.Benchmarks;

if (args.Length > 2 && args[0] == "charts")
{
    return RestCharts.Render(args[1], args[2], args.Length > 3 ? args[3] : $"{Environment.ProcessorCount} cores", args.Length > 4 ? args[4] : "svg");
}

if (args.Length > 2 && args[0] == "bodies")
{
    return PeerBodies.Write(args[1], args[2], args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 32,
        args.Length > 4 ? args[4] : Path.GetFileNameWithoutExtension(args[1]));
}

if (args.Length > 2 && args[0] == "write-model")
{
    File.Copy(BenchModels.PathOf(args[1]), args[2], overwrite: true);
    return 0;
}

if (args.Length > 0 && args[0] == "load")
{
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
    var models = args.Length > 2 ? args[2].Split(',') : ["mlp", "bert-small"];
    int[] callers = args.Length > 3 ? [.. args[3].Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))] : [1, 8, 64];
    Console.WriteLine($"{Environment.ProcessorCount} cores, ONNX Runtime {ModelKit.Onnx.OnnxBackend.RuntimeVersion}, {seconds} s per point after 0.5 s warm-up");
    await LoadDriver.RunAsync(models, callers, TimeSpan.FromSeconds(seconds));
    return 0;
}

if (args.Length > 0 && args[0] == "http")
{
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3;
    var models = args.Length > 2 ? args[2].Split(',') : ["mlp", "bert-small"];
    int[] callers = args.Length > 3 ? [.. args[3].Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))] : [1, 64];
    Console.WriteLine($"{Environment.ProcessorCount} cores, ONNX Runtime {ModelKit.Onnx.OnnxBackend.RuntimeVersion}, {seconds} s per point after 0.5 s warm-up; REST over loopback Kestrel");
    await HttpLoadDriver.RunAsync(models, callers, TimeSpan.FromSeconds(seconds));
    return 0;
}

if (args.Length > 0 && args[0] == "cache")
{
    var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 4;
    var models = args.Length > 2 ? args[2].Split(',') : ["bert-small", "minilm"];
    return await CacheMemoryDriver.RunAsync(models, rounds);
}

if (args.Length > 0 && args[0] == "embed")
{
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
    var callers = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 64;
    var rounds = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 3;
    Console.WriteLine($"{Environment.ProcessorCount} cores, ONNX Runtime {ModelKit.Onnx.OnnxBackend.RuntimeVersion}, {callers} callers, {seconds} s per point after 1.5 s warm-up, {rounds} rounds");
    return await EmbeddingsLoadDriver.RunAsync(TimeSpan.FromSeconds(seconds), callers, rounds);
}

if (args.Length > 0 && args[0] == "generate")
{
    var seconds = args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10;
    var maxTokens = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 64;
    int[] streams = args.Length > 3 ? [.. args[3].Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))] : [1, 4, 16];
    int[] threads = args.Length > 4 ? [.. args[4].Split(',').Select(c => int.Parse(c, System.Globalization.CultureInfo.InvariantCulture))] : [1, 2];
    var rounds = args.Length > 5 ? int.Parse(args[5], System.Globalization.CultureInfo.InvariantCulture) : 1;
    Console.WriteLine($"{Environment.ProcessorCount} cores, ONNX Runtime {ModelKit.Onnx.OnnxBackend.RuntimeVersion}, {seconds} s per point after a warm-up of 2 s + 0.25 s per stream, {rounds} round(s); load average {File.ReadAllText("/proc/loadavg").Trim()}");
    return await GenerationLoadDriver.RunAsync(TimeSpan.FromSeconds(seconds), maxTokens, streams, threads, rounds);
}

if (args.Length > 0 && args[0] == "download")
{
    var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
    Console.WriteLine($"{Environment.ProcessorCount} cores; local hub on loopback; {rounds} rounds");
    return await DownloadDriver.RunAsync(rounds);
}

if (args.Length == 3 && args[0] == "gpu")
{
    return await GpuProbe.RunParentAsync(args[1], args[2]);
}

if (args.Length == 4 && args[0] == "gpu-child")
{
    return await GpuProbe.RunChildAsync(args[1], args[2], args[3]);
}

BenchmarkSwitcher.FromAssembly(typeof(OverheadBenchmarks).Assembly).Run(args);
return 0;
