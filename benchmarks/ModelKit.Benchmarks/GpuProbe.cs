using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;

namespace ModelKit.Benchmarks;

/// <summary>
/// The CUDA path, probed step by step on a GPU host. The parent runs each step in a child process (so a crash
/// inside ONNX Runtime is recorded with its signal instead of ending the probe) and writes every outcome to
/// <c>gpu-probe.json</c>:
/// <list type="number">
/// <item><c>env</c>: ONNX Runtime version, built-in providers, the plugin library's registration and its devices;</item>
/// <item><c>session</c>: raw sessions on the CUDA device (MLP, BERT-small), outputs against the CPU, node placement from a profile;</item>
/// <item><c>bench</c>: raw CUDA session vs ModelKit deployed on <c>cuda:0</c>, batch-1 latency and 64 concurrent callers.</item>
/// </list>
/// </summary>
internal static class GpuProbe
{
    private static readonly string[] Models = ["mlp", "bert-small"];

    public static async Task<int> RunParentAsync(string library, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var report = new JsonObject
        {
            ["date"] = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
            ["machine"] = $"{Environment.MachineName}, {Environment.ProcessorCount} cores",
            ["library"] = library,
        };
        var steps = new JsonArray();
        report["steps"] = steps;
        foreach (var step in new[] { "env", "session", "bench" })
        {
            var outcome = await SpawnAsync(step, library, outDir);
            steps.Add(outcome);
            Console.WriteLine($"{step}: exit {outcome["exit_code"]}");
            await File.WriteAllTextAsync(Path.Combine(outDir, "gpu-probe.json"), report.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            if ((int)outcome["exit_code"]! != 0) break;
        }

        return 0;
    }

    private static async Task<JsonObject> SpawnAsync(string step, string library, string outDir)
    {
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true };
        if (!self.EndsWith("ModelKit.Benchmarks", StringComparison.Ordinal)) info.ArgumentList.Add(typeof(GpuProbe).Assembly.Location);
        foreach (var a in new[] { "gpu-child", step, library, outDir }) info.ArgumentList.Add(a);
        var started = Stopwatch.GetTimestamp();
        using var child = Process.Start(info)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        try
        {
            await child.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync();
        }

        var output = await stdout;
        var errors = await stderr;
        await File.WriteAllTextAsync(Path.Combine(outDir, $"{step}.stdout.txt"), output);
        await File.WriteAllTextAsync(Path.Combine(outDir, $"{step}.stderr.txt"), errors);
        var results = new JsonArray();
        foreach (var line in output.Split('\n'))
        {
            if (line.StartsWith("RESULT ", StringComparison.Ordinal)) results.Add(JsonNode.Parse(line[7..]));
        }

        return new JsonObject
        {
            ["step"] = step,
            ["exit_code"] = child.ExitCode,
            ["signal"] = child.ExitCode > 128 ? child.ExitCode - 128 : null,
            ["timed_out"] = limit.IsCancellationRequested,
            ["seconds"] = Math.Round(Stopwatch.GetElapsedTime(started).TotalSeconds, 1),
            ["results"] = results,
            ["stderr_tail"] = errors.Length > 3000 ? errors[^3000..] : errors,
        };
    }

    public static async Task<int> RunChildAsync(string step, string library, string outDir)
    {
        switch (step)
        {
            case "env":
                Env(library);
                break;
            case "session":
                Sessions(library, outDir);
                break;
            case "bench":
                await BenchAsync(library);
                break;
            default:
                throw new ArgumentException("Unknown step " + step, nameof(step));
        }

        return 0;
    }

    private static void Emit(JsonObject result) => Console.WriteLine("RESULT " + result.ToJsonString());

    private static void Env(string library)
    {
        var env = OrtEnv.Instance();
        Emit(new JsonObject { ["ort_version"] = env.GetVersionString(), ["providers"] = new JsonArray([.. env.GetAvailableProviders().Select(p => JsonValue.Create(p))]) });
        env.RegisterExecutionProviderLibrary("CUDA", library);
        var devices = new JsonArray();
        foreach (var d in env.GetEpDevices())
        {
            devices.Add(new JsonObject
            {
                ["ep"] = d.EpName,
                ["vendor"] = d.EpVendor,
                ["type"] = d.HardwareDevice.Type.ToString(),
                ["device_id"] = d.HardwareDevice.DeviceId,
                ["hw_vendor"] = d.HardwareDevice.Vendor,
            });
        }

        Emit(new JsonObject { ["registered"] = true, ["ep_devices"] = devices });
    }

    private static SessionOptions CudaOptions(OrtEnv env)
    {
        var gpu = env.GetEpDevices().First(d => d.HardwareDevice.Type == OrtHardwareDeviceType.GPU);
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        options.AppendExecutionProvider(env, [gpu], new Dictionary<string, string> { ["device_id"] = "0" });
        return options;
    }

    private static void Sessions(string library, string outDir)
    {
        var env = OrtEnv.Instance();
        env.RegisterExecutionProviderLibrary("CUDA", library);
        foreach (var model in Models)
        {
            using var cpu = BenchModels.CreateSession(model, intraOpThreads: 0);
            using var options = CudaOptions(env);
            options.EnableProfiling = true;
            options.ProfileOutputPathPrefix = Path.Combine(outDir, "profile-" + model);
            var created = Stopwatch.GetTimestamp();
            using var gpu = new InferenceSession(BenchModels.PathOf(model), options);
            var createMs = Stopwatch.GetElapsedTime(created).TotalMilliseconds;
            using var runOptions = new RunOptions();
            string[] inputs = [.. gpu.InputNames];
            string[] outputs = [.. gpu.OutputNames];
            var feed = BenchModels.Inputs(model, 3);
            var expected = BenchModels.RunRaw(cpu, runOptions, inputs, outputs, feed);
            var actual = BenchModels.RunRaw(gpu, runOptions, inputs, outputs, feed);
            var maxDiff = 0f;
            for (var i = 0; i < expected.Length; i++) maxDiff = Math.Max(maxDiff, Math.Abs(expected[i] - actual[i]));
            var profile = gpu.EndProfiling();
            var placement = new Dictionary<string, int>();
            using (var doc = JsonDocument.Parse(File.ReadAllText(profile)))
            {
                foreach (var e in doc.RootElement.EnumerateArray())
                {
                    if (e.TryGetProperty("args", out var args) && args.TryGetProperty("provider", out var p))
                    {
                        var name = p.GetString() ?? "?";
                        placement[name] = placement.GetValueOrDefault(name) + 1;
                    }
                }
            }

            Emit(new JsonObject
            {
                ["model"] = model,
                ["session_create_ms"] = Math.Round(createMs, 1),
                ["max_abs_diff_vs_cpu"] = maxDiff,
                ["outputs"] = expected.Length,
                ["node_runs_by_provider"] = new JsonObject([.. placement.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))]),
            });
        }
    }

    private static async Task BenchAsync(string library)
    {
        var env = OrtEnv.Instance();
        env.RegisterExecutionProviderLibrary("CUDA", library);
        foreach (var model in Models)
        {
            using var options = CudaOptions(env);
            using var session = new InferenceSession(BenchModels.PathOf(model), options);
            using var runOptions = new RunOptions();
            string[] inputs = [.. session.InputNames];
            string[] outputs = [.. session.OutputNames];
            var feed = BenchModels.Inputs(model, 1);
            for (var i = 0; i < 50; i++) BenchModels.RunRaw(session, runOptions, inputs, outputs, feed);
            var rawLatency = Measure(2000, () => BenchModels.RunRaw(session, runOptions, inputs, outputs, feed));

            var data = Path.Combine(Path.GetTempPath(), "modelkit-gpu-data", Guid.NewGuid().ToString("N"));
            var services = new ServiceCollection();
            services.AddModelKit(o => o.DataDirectory = data)
                .AddOnnxRuntime(o => o.ExecutionProviderLibraryPath = library)
                .ConfigureInference(o => o.ServeUndeployedModels = false);
            await using var provider = services.BuildServiceProvider();
            await provider.GetRequiredService<IModelRegistry>().RegisterFileAsync(new ModelDefinition { Id = model, Name = model }, BenchModels.PathOf(model));

            var deployments = provider.GetRequiredService<IDeploymentManager>();
            await deployments.DeployAsync(new DeploymentSpec
            {
                ModelId = model, Device = "cuda:0", Replicas = 2,
                Batching = new BatchingOptions { MaxBatchSize = model == "mlp" ? 64 : 32, MaxQueueSize = 100_000 },
            });
            var deployed = await deployments.WaitUntilRunningAsync(deployments.FindByModel(model)!.DeploymentId);
            var inference = provider.GetRequiredService<IInferenceService>();
            var request = new InferenceRequest { ModelId = model, Inputs = feed };
            var check = (await inference.InferAsync(request)).Outputs[outputs[0]].ToArray<float>();
            var reference = BenchModels.RunRaw(session, runOptions, inputs, outputs, feed);
            var diff = 0f;
            for (var i = 0; i < check.Length; i++) diff = Math.Max(diff, Math.Abs(check[i] - reference[i]));
            for (var i = 0; i < 50; i++) await inference.InferAsync(request);
            var kitLatency = Measure(2000, () => inference.InferAsync(request).GetAwaiter().GetResult());

            // Threads (not tasks) on both sides, so the direct baseline and ModelKit face the same callers.
            var direct = LoadDriver.RunThreads(64, TimeSpan.FromSeconds(3), c =>
            {
                var feedOf = BenchModels.Inputs(model, c);
                return () => BenchModels.RunRaw(session, runOptions, inputs, outputs, feedOf);
            });
            var kit = LoadDriver.RunThreads(64, TimeSpan.FromSeconds(3), c =>
            {
                var call = new InferenceRequest { ModelId = model, Inputs = BenchModels.Inputs(model, c) };
                return () => inference.InferAsync(call).GetAwaiter().GetResult();
            });
            Emit(new JsonObject
            {
                ["model"] = model,
                ["deployment_device"] = deployed.Device,
                ["deployment_warmup"] = deployed.Stages.Single(s => s.Name == "warmup").Message,
                ["modelkit_max_abs_diff_vs_raw_cuda"] = diff,
                ["batch1_raw_us_mean"] = Math.Round(rawLatency.Mean, 1),
                ["batch1_raw_us_p50"] = Math.Round(rawLatency.P50, 1),
                ["batch1_modelkit_us_mean"] = Math.Round(kitLatency.Mean, 1),
                ["batch1_modelkit_us_p50"] = Math.Round(kitLatency.P50, 1),
                ["batch1_ratio_mean"] = Math.Round(kitLatency.Mean / rawLatency.Mean, 3),
                ["c64_direct_req_s"] = Math.Round(direct.Throughput),
                ["c64_direct_p95_ms"] = Math.Round(direct.P95, 3),
                ["c64_modelkit_req_s"] = Math.Round(kit.Throughput),
                ["c64_modelkit_p95_ms"] = Math.Round(kit.P95, 3),
                ["c64_throughput_ratio"] = Math.Round(kit.Throughput / direct.Throughput, 2),
                ["queue_average_batch"] = Math.Round(deployments.GetDeployment(deployed.DeploymentId).Queue!.AverageBatchSize, 1),
            });
        }
    }

    private static (double Mean, double P50) Measure(int iterations, Action run)
    {
        var samples = new double[iterations];
        for (var i = 0; i < iterations; i++)
        {
            var t = Stopwatch.GetTimestamp();
            run();
            samples[i] = Stopwatch.GetElapsedTime(t).TotalMicroseconds;
        }

        Array.Sort(samples);
        return (samples.Average(), samples[iterations / 2]);
    }
}
