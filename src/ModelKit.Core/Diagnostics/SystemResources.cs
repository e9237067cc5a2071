namespace ModelKit.Diagnostics;

/// <summary>CPU, memory, disk and load of the machine ModelKit runs on.</summary>
public sealed record SystemResources
{
    /// <summary>Logical cores.</summary>
    public int CpuCores { get; init; }
    /// <summary>The processor's model name (<c>/proc/cpuinfo</c> on Linux, e.g. <c>AMD EPYC 7B13</c>); null where unknown.</summary>
    public string? CpuModelName { get; init; }
    /// <summary>Machine CPU use since the previous reading (or over a short sample for the first), 0–100.</summary>
    public double CpuUsagePercent { get; init; }
    /// <summary>This process's CPU use over the same interval, 0–100 of the whole machine.</summary>
    public double ProcessCpuUsagePercent { get; init; }
    /// <summary>Physical memory.</summary>
    public long MemoryTotalBytes { get; init; }
    /// <summary>Memory available to new work (MemAvailable on Linux).</summary>
    public long MemoryAvailableBytes { get; init; }
    /// <summary>This process's resident memory.</summary>
    public long ProcessMemoryBytes { get; init; }
    /// <summary>Size of the disk that holds the data directory.</summary>
    public long DiskTotalBytes { get; init; }
    /// <summary>Free space on that disk.</summary>
    public long DiskFreeBytes { get; init; }
    /// <summary>1, 5 and 15 minute load averages (Linux), else empty.</summary>
    public IReadOnlyList<double> LoadAverage { get; init; } = [];
    /// <summary>Thread-pool threads and queued work items.</summary>
    public int ThreadPoolThreads { get; init; }
    /// <summary>Work items waiting for a thread-pool thread.</summary>
    public long ThreadPoolQueueLength { get; init; }
}
