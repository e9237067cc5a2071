namespace ModelKit.Scheduling;

/// <summary>
/// Batches run on thread-pool threads and hold them for the whole run: backends block in native code. Each execution
/// instance raises the pool's minimum thread count by one while its queue lives, so that the pool adds a thread at once
/// for timers (request timeouts), socket I/O and callers' continuations instead of waiting out its starvation
/// detection, which adds about one thread per half second.
/// </summary>
internal static class ThreadPoolReservation
{
    private static readonly Lock Gate = new();

    /// <summary>Raises (positive) or lowers (negative) the pool's minimum worker threads by <paramref name="delta"/>.</summary>
    public static void Change(int delta)
    {
        if (delta == 0) return;
        lock (Gate)
        {
            ThreadPool.GetMinThreads(out var workers, out var io);
            ThreadPool.SetMinThreads(Math.Max(Environment.ProcessorCount, workers + delta), io);
        }
    }
}
