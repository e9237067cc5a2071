using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ModelKit.Tests;

/// <summary>What tests that start other processes (npm, node) on this machine need: a free loopback port, a finished command's output, the Node peer.</summary>
internal static class LocalProcesses
{
    /// <summary>A loopback port nothing listens on now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs <paramref name="file"/> to its end (at most 5 minutes); its exit code and its output and errors.</summary>
    public static async Task<(int Code, string Output)> RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["NPM_CONFIG_UPDATE_NOTIFIER"] = "false";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(5));
        return (process.ExitCode, await output + await errors);
    }

    /// <summary>
    /// The Node peer's folder (benchmarks/peers/NodeServer), its packages installed from npm on first use as
    /// compare-rest.sh installs them (no install scripts: they would fetch binaries from outside npm).
    /// </summary>
    public static async Task<string> NodePeerAsync()
    {
        var directory = Path.Combine(RepositoryRoot.Path, "benchmarks", "peers", "NodeServer");
        string[] packages = ["onnxruntime-node", Path.Combine("@grpc", "grpc-js"), Path.Combine("@grpc", "proto-loader")];
        if (packages.All(package => Directory.Exists(Path.Combine(directory, "node_modules", package)))) return directory;
        var (code, output) = await RunAsync("npm", ["install", "--prefix", directory, "--no-package-lock", "--ignore-scripts", "--no-audit", "--no-fund", "--no-update-notifier"]);
        Assert.True(code == 0, $"npm install of the Node peer failed: {output}");
        return directory;
    }
}
