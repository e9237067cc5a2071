namespace ModelKit.Caching;

/// <summary>
/// Limits of the model cache; configuration section <c>ModelKit:Cache</c> with
/// <c>AddModelKit(configuration.GetSection("ModelKit"))</c>.
/// </summary>
public sealed class ModelCacheOptions
{
    /// <summary>
    /// The memory all cached models may hold together, in bytes, as the backends figure it
    /// (<see cref="Backends.IModelSession.MemoryBytes"/>). Default: null, which means <see cref="MemoryLimitFraction"/> of the
    /// memory available to the process.
    /// </summary>
    public long? MemoryLimitBytes { get; set; }

    /// <summary>
    /// The share of the memory available to the process (<see cref="GCMemoryInfo.TotalAvailableMemoryBytes"/>: the machine's
    /// physical memory, or the container's memory limit, or the GC heap hard limit when one is set) that the cache may hold
    /// when <see cref="MemoryLimitBytes"/> is not set; greater than 0 and at most 1. Default: 0.75, which leaves a quarter for
    /// the host, the runtime and the working memory of the runs (18 GiB on a 24 GiB machine).
    /// </summary>
    public double MemoryLimitFraction { get; set; } = 0.75;

    /// <summary>The most models kept loaded at once. Default: 16.</summary>
    public int MaxModels { get; set; } = 16;

    /// <summary>The limit in force: <see cref="MemoryLimitBytes"/>, or <see cref="MemoryLimitFraction"/> of the memory available to the process.</summary>
    internal long ResolveMemoryLimitBytes() => ResolveMemoryLimitBytes(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes);

    /// <summary>The limit in force on a process with <paramref name="availableBytes"/> available.</summary>
    internal long ResolveMemoryLimitBytes(long availableBytes) =>
        MemoryLimitBytes ?? Math.Max(1, (long)(availableBytes * MemoryLimitFraction));
}
