using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace ModelKit.Tests;

/// <summary>
/// The sample server in a process of its own (<c>dotnet ModelKit.SampleServer.dll</c>) on a free loopback port: for
/// measurements of the server alone, such as its resident memory.
/// </summary>
internal sealed class SampleServerProcess : IDisposable
{
    private readonly Process _process;

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output;

    private SampleServerProcess(Process process, Uri address, System.Collections.Concurrent.ConcurrentQueue<string> output)
    {
        _process = process;
        _output = output;
        Address = address;
    }

    public Uri Address { get; }

    public static SampleServerProcess Start(string dataDirectory, params string[] settings) =>
        Start(dataDirectory, new Uri($"http://127.0.0.1:{LocalProcesses.FreePort()}"), passUrls: true, settings);

    /// <summary>
    /// Starts the server answering at <paramref name="address"/>: given to it as <c>--urls</c>, or (not
    /// <paramref name="passUrls"/>) already in <paramref name="settings"/>, such as Kestrel endpoints.
    /// </summary>
    public static SampleServerProcess Start(string dataDirectory, Uri address, bool passUrls, params string[] settings)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(typeof(Program).Assembly.Location)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        if (passUrls)
        {
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add(address.ToString());
        }

        foreach (var arg in new[] { "--ModelKit:DataDirectory=" + dataDirectory, "--ModelKit:ServeMiniLm=false" }) start.ArgumentList.Add(arg);
        foreach (var setting in settings) start.ArgumentList.Add(setting);
        var process = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        void Keep(string? line)
        {
            if (line is null) return;
            output.Enqueue(line);
            while (output.Count > 200) output.TryDequeue(out _);
        }

        process.OutputDataReceived += (_, e) => Keep(e.Data);
        process.ErrorDataReceived += (_, e) => Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new SampleServerProcess(process, address, output);
    }

    /// <summary>The last 200 lines the process wrote (for a failing test's message).</summary>
    public string OutputTail => string.Join('\n', _output);

    /// <summary>Waits until <paramref name="modelId"/>'s deployment is running.</summary>
    public async Task WaitUntilServingAsync(HttpClient client, string modelId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(_process.HasExited, "the sample server exited");
            try
            {
                var response = await client.GetAsync($"/api/v1/models/{modelId}/status");
                if (response.IsSuccessStatusCode && JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("status").GetString() == "running") return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{modelId} did not come up on the sample server process.");
            await Task.Delay(100);
        }
    }

    /// <summary>Waits until the server answers its health endpoint.</summary>
    public async Task WaitUntilListeningAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(_process.HasExited, "the sample server exited:\n" + OutputTail);
            try
            {
                if ((await client.GetAsync("/health/live")).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
                // not listening yet
            }

            if (DateTime.UtcNow > deadline) throw new TimeoutException("The sample server process did not start listening:\n" + OutputTail);
            await Task.Delay(100);
        }
    }

    /// <summary>Kills the process at once (SIGKILL on Unix): nothing of it runs after, no shutdown code, no flushes.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    /// <summary>
    /// Stops the process where it is (SIGSTOP): it holds its sockets but answers nothing, as a node cut off from the
    /// network looks to the others. <see cref="Resume"/> lets it run on.
    /// </summary>
    public void Pause() => Signal("-STOP");

    /// <summary>Lets a paused process run on (SIGCONT).</summary>
    public void Resume() => Signal("-CONT");

    /// <summary>Whether the process has exited, within <paramref name="timeout"/>.</summary>
    public async Task<bool> ExitsWithinAsync(TimeSpan timeout)
    {
        using var limit = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(limit.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })!;
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    public long ResidentBytes()
    {
        _process.Refresh();
        return _process.WorkingSet64;
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        _process.Dispose();
    }
}
