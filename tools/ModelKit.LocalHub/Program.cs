using System.Globalization;
using System.Runtime.InteropServices;

namespace ModelKit.LocalHub;

/// <summary>The local hub as a command-line tool (a class of its own, so that it is not a second <c>Program</c> beside a host's).</summary>
internal static class LocalHubTool
{
    public static async Task<int> Main(string[] args)
    {

        // dotnet run --project tools/ModelKit.LocalHub -- --root DIR [--port 5081] [--bytes-per-second N] [--token T] [--seed-minilm]
        string? root = null;
        var port = 5081;
        long bytesPerSecond = 0;
        string? token = null;
        var seed = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i])
            {
                case "--root": root = Value(); break;
                case "--port": port = int.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--bytes-per-second": bytesPerSecond = long.Parse(Value(), CultureInfo.InvariantCulture); break;
                case "--token": token = Value(); break;
                case "--seed-minilm": seed = true; break;
                default:
                    Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: --root DIR [--port 5081] [--bytes-per-second N] [--token T] [--seed-minilm]");
                    return 2;
            }
        }

        if (root is null)
        {
            Console.Error.WriteLine("--root DIR is required: the directory of {owner}/{name} repositories to serve.");
            return 2;
        }

        Directory.CreateDirectory(root);
        if (seed) Console.WriteLine($"Seeded {LocalHubSeeds.MiniLmRepoId} at {LocalHubSeeds.SeedMiniLm(root)}");

        await using var hub = await LocalHubServer.StartAsync(new LocalHubOptions { Root = root, Port = port, Token = token });
        hub.Faults.BytesPerSecond = bytesPerSecond;
        Console.WriteLine($"Local hub serving {Path.GetFullPath(root)} at {hub.Endpoint} (HF_ENDPOINT={hub.Endpoint.ToString().TrimEnd('/')}); Ctrl+C stops it.");

        var stopped = new TaskCompletionSource();
        void Stop(PosixSignalContext signal)
        {
            signal.Cancel = true;
            stopped.TrySetResult();
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await stopped.Task;
        Console.WriteLine("Local hub stopped.");
        return 0;
    }
}
