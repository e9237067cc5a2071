using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace ModelKit.Tests;

/// <summary>What tests that start other processes (npm, node) on this machine need: a free loopback port, a finished command's output.</summary>
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
}
