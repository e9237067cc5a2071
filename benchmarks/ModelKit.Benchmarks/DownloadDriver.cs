using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Downloads;
using ModelKit.LocalHub;

namespace ModelKit.Benchmarks;

/// <summary>
/// Downloads of the real all-MiniLM-L6-v2 (its ONNX model, vocabulary and configuration, 87 MiB) from a local hub on
/// loopback: ModelKit's download manager (plan, transfer with hash checks, then registration through the ingest
/// pipeline, which copies, hashes and loads the model) against what people write by hand — an HttpClient GET of each file
/// to disk followed by a sha256 of it. Rounds alternate; medians are reported.
/// </summary>
internal static class DownloadDriver
{
    public static async Task<int> RunAsync(int rounds)
    {
        var root = Directory.CreateTempSubdirectory("modelkit-download-bench");
        try
        {
            var hubRoot = Path.Combine(root.FullName, "hub");
            LocalHubSeeds.SeedMiniLm(hubRoot);
            await using var hub = await LocalHubServer.StartAsync(new LocalHubOptions { Root = hubRoot });
            var services = new ServiceCollection().AddLogging();
            services.AddModelKit(o => o.DataDirectory = Path.Combine(root.FullName, "data")).AddOnnxRuntime();
            services.Configure<HubOptions>(o => o.Endpoint = hub.Endpoint);
            services.Configure<DownloadOptions>(o => o.ReservedFreeBytes = 0);
            await using var provider = services.BuildServiceProvider();
            var downloads = provider.GetRequiredService<DownloadManager>();
            await downloads.RestoreAsync();
            var info = await provider.GetRequiredService<IModelHub>().GetModelAsync(LocalHubSeeds.MiniLmRepoId);
            var plan = await new HuggingFaceSource(provider.GetRequiredService<IModelHub>()).PlanAsync(new DownloadRequest { Source = "huggingface", ModelId = LocalHubSeeds.MiniLmRepoId });
            var bytes = plan.Files.Sum(f => f.Size ?? 0);
            Console.WriteLine($"{plan.Files.Count} files, {bytes / 1048576.0:0.0} MiB, commit {info.Sha?[..12]}");

            var (hand, transfer, total) = (new List<double>(), new List<double>(), new List<double>());
            using var http = new HttpClient();
            for (var round = 0; round < rounds; round++)
            {
                // By hand: GET each file (following the LFS redirect), write it, sha256 it.
                var folder = Directory.CreateDirectory(Path.Combine(root.FullName, "hand", round.ToString(System.Globalization.CultureInfo.InvariantCulture))).FullName;
                var clock = Stopwatch.StartNew();
                foreach (var file in plan.Files)
                {
                    var path = Path.Combine(folder, file.Name.Replace('/', '_'));
                    await using (var body = await http.GetStreamAsync(new Uri(hub.Endpoint, $"{LocalHubSeeds.MiniLmRepoId}/resolve/{plan.Revision}/{file.Location}")))
                    await using (var output = File.Create(path))
                    {
                        await body.CopyToAsync(output);
                    }

                    await using var read = File.OpenRead(path);
                    _ = await SHA256.HashDataAsync(read);
                }

                hand.Add(clock.Elapsed.TotalSeconds);

                // ModelKit: queue → transfer and verify → register (copy into the store, hash, load to validate).
                clock.Restart();
                var task = await downloads.StartAsync(new DownloadRequest { Source = "huggingface", ModelId = LocalHubSeeds.MiniLmRepoId, RegisterAs = $"minilm-{round}" });
                double? transferred = null;
                await foreach (var e in downloads.WatchAsync(task.Id))
                {
                    if (transferred is null && e.Task.Status is DownloadStatus.Registering or DownloadStatus.Completed) transferred = clock.Elapsed.TotalSeconds;
                }

                var done = await downloads.WaitForCompletionAsync(task.Id);
                total.Add(clock.Elapsed.TotalSeconds);
                transfer.Add(transferred ?? clock.Elapsed.TotalSeconds);
                Console.WriteLine($"round {round + 1}: by hand {hand[^1]:0.000} s, ModelKit transfer+verify {transfer[^1]:0.000} s, with registration {total[^1]:0.000} s ({done.Status})");
            }

            var mib = bytes / 1048576.0;
            var (h, t, a) = (BenchStats.Median(hand), BenchStats.Median(transfer), BenchStats.Median(total));
            Console.WriteLine($"median: by hand {h:0.000} s ({mib / h:0} MiB/s); ModelKit transfer+verify {t:0.000} s ({mib / t:0} MiB/s, {h / t:0.00}x by hand); with registration {a:0.000} s ({h / a:0.00}x)");
            return 0;
        }
        finally
        {
            root.Delete(recursive: true);
        }
    }
}
