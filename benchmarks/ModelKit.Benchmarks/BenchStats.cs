using System.Diagnostics;
using System.Globalization;

namespace ModelKit.Benchmarks;

/// <summary>What the load drivers share: medians of repeated rounds, and the CPU a timed window used.</summary>
internal static class BenchStats
{
    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>
    /// The process's CPU seconds over the timed window that starts after <paramref name="warmup"/> and lasts
    /// <paramref name="duration"/>, and the seconds the rest of the machine used meanwhile (from /proc/stat; NaN
    /// elsewhere): the noise other processes put on the window.
    /// </summary>
    public static async Task<(double Own, double Others)> MeasureCpuAsync(TimeSpan warmup, TimeSpan duration)
    {
        using var process = Process.GetCurrentProcess();
        await Task.Delay(warmup).ConfigureAwait(false);
        process.Refresh();
        var start = process.TotalProcessorTime;
        var machineStart = MachineBusySeconds();
        await Task.Delay(duration).ConfigureAwait(false);
        process.Refresh();
        var own = (process.TotalProcessorTime - start).TotalSeconds;
        return (own, MachineBusySeconds() - machineStart - own);
    }

    // Seconds all cores spent busy since boot (user, nice, system, irq, softirq, steal), from /proc/stat's cpu line.
    private static double MachineBusySeconds()
    {
        try
        {
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long busy = 0;
            foreach (var i in new[] { 1, 2, 3, 6, 7, 8 }) busy += long.Parse(fields[i], CultureInfo.InvariantCulture);
            return busy / 100.0; // USER_HZ
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return double.NaN;
        }
    }
}
