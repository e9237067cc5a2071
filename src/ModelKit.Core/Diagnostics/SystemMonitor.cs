using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;

namespace ModelKit.Diagnostics;

/// <summary>Reads <see cref="SystemResources"/> from /proc on Linux, with portable fallbacks elsewhere.</summary>
public sealed class SystemMonitor(IOptions<ModelKitOptions> options)
{
    private static readonly Lazy<string?> CpuModel = new(ReadCpuModel);
    private readonly Lock _gate = new();
    private (long Busy, long Total, TimeSpan Process, long Timestamp)? _last;

    /// <summary>The processor's model name (<c>/proc/cpuinfo</c> on Linux), read once; null where unknown.</summary>
    public static string? CpuModelName => CpuModel.Value;

    /// <summary>A reading now.</summary>
    public SystemResources Read()
    {
        ArgumentNullException.ThrowIfNull(options);
        var (cpu, processCpu) = CpuUsage();
        var (memTotal, memAvailable) = Memory();
        long diskTotal = 0, diskFree = 0;
        try
        {
            var drive = new DriveInfo(Path.GetPathRoot(Path.GetFullPath(options.Value.DataDirectory)) ?? "/");
            diskTotal = drive.TotalSize;
            diskFree = drive.AvailableFreeSpace;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // Unknown on this platform; reported as 0.
        }

        using var process = Process.GetCurrentProcess();
        return new SystemResources
        {
            CpuCores = Environment.ProcessorCount,
            CpuModelName = CpuModel.Value,
            CpuUsagePercent = Math.Round(cpu, 1),
            ProcessCpuUsagePercent = Math.Round(processCpu, 1),
            MemoryTotalBytes = memTotal,
            MemoryAvailableBytes = memAvailable,
            ProcessMemoryBytes = process.WorkingSet64,
            DiskTotalBytes = diskTotal,
            DiskFreeBytes = diskFree,
            LoadAverage = LoadAverage(),
            ThreadPoolThreads = ThreadPool.ThreadCount,
            ThreadPoolQueueLength = ThreadPool.PendingWorkItemCount,
        };
    }

    private (double Machine, double Process) CpuUsage()
    {
        var now = Sample();
        (long Busy, long Total, TimeSpan Process, long Timestamp) before;
        lock (_gate)
        {
            before = _last ?? default;
            _last = now;
        }

        if (before.Timestamp == 0 || Stopwatch.GetElapsedTime(before.Timestamp).TotalMilliseconds < 50)
        {
            Thread.Sleep(100); // first reading, or too soon after the last: sample a short interval
            before = now;
            now = Sample();
            lock (_gate) _last = now;
        }

        var machine = now.Total > before.Total ? 100.0 * (now.Busy - before.Busy) / (now.Total - before.Total) : 0;
        var wall = Stopwatch.GetElapsedTime(before.Timestamp, now.Timestamp).TotalSeconds * Environment.ProcessorCount;
        var process = wall > 0 ? 100.0 * (now.Process - before.Process).TotalSeconds / wall : 0;
        return (Math.Clamp(machine, 0, 100), Math.Clamp(process, 0, 100));
    }

    private static (long Busy, long Total, TimeSpan Process, long Timestamp) Sample()
    {
        long busy = 0, total = 0;
        try
        {
            // cpu  user nice system idle iowait irq softirq steal …
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            for (var i = 1; i < fields.Length && i <= 8; i++)
            {
                var v = long.Parse(fields[i], CultureInfo.InvariantCulture);
                total += v;
                if (i is not (4 or 5)) busy += v; // idle and iowait are not busy
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or InvalidOperationException)
        {
            // Not Linux: the machine figure stays 0; the process figure still works.
        }

        using var process = Process.GetCurrentProcess();
        return (busy, total, process.TotalProcessorTime, Stopwatch.GetTimestamp());
    }

    private static (long Total, long Available) Memory()
    {
        try
        {
            long total = 0, available = 0;
            foreach (var line in File.ReadLines("/proc/meminfo"))
            {
                if (line.StartsWith("MemTotal:", StringComparison.Ordinal)) total = KiB(line);
                else if (line.StartsWith("MemAvailable:", StringComparison.Ordinal)) available = KiB(line);
            }

            if (total > 0) return (total, available);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // Fall back below.
        }

        var info = GC.GetGCMemoryInfo();
        return (info.TotalAvailableMemoryBytes, Math.Max(0, info.TotalAvailableMemoryBytes - info.MemoryLoadBytes));

        static long KiB(string line) => long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }

    // The first "model name" line of /proc/cpuinfo (x86 and most ARM servers); null where there is none.
    private static string? ReadCpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
            {
                if (!line.StartsWith("model name", StringComparison.Ordinal)) continue;
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var name = colon < 0 ? string.Empty : line[(colon + 1)..].Trim();
                return name.Length > 0 ? name : null;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not Linux.
        }

        return null;
    }

    private static double[] LoadAverage()
    {
        try
        {
            return [.. File.ReadAllText("/proc/loadavg").Split(' ').Take(3).Select(s => double.Parse(s, CultureInfo.InvariantCulture))];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return [];
        }
    }
}
