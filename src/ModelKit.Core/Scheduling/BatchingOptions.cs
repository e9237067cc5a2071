namespace ModelKit.Scheduling;

/// <summary>How a queue merges requests into batches.</summary>
public sealed record BatchingOptions
{
    /// <summary>The most rows (sum of dimension 0) in one backend run. Default: 32. 1 disables merging.</summary>
    public int MaxBatchSize { get; init; } = 32;

    /// <summary>
    /// The most elements the largest input of a merged batch may hold (rows × the elements of one row), or null for no
    /// limit beyond <see cref="MaxBatchSize"/>. Requests of one shape are merged only up to it; a request larger than it
    /// still runs, alone. For text encoders this is a token budget per run (rows × padded length): on CPU, merging long
    /// texts gains no throughput and only widens the latency spread, while short texts still merge by the dozen.
    /// Default: null.
    /// </summary>
    public long? MaxBatchElements { get; init; }

    /// <summary>
    /// How long the oldest request may wait for batch-mates when fewer than <see cref="MaxBatchSize"/> rows wait.
    /// Default: zero, i.e. greedy: run what is queued as soon as an instance is free.
    /// </summary>
    public TimeSpan MaxQueueDelay { get; init; } = TimeSpan.Zero;

    /// <summary>The most requests waiting; more are rejected with QUEUE_FULL. Default: 1024.</summary>
    public int MaxQueueSize { get; init; } = 1024;

    /// <summary>
    /// How many batches of this model may run at once (execution instances). Default: 1. A running batch holds a
    /// thread-pool thread, so each instance raises the pool's minimum thread count by one while the queue lives.
    /// </summary>
    public int Instances { get; init; } = 1;

    /// <summary>
    /// When true, a request that finds the queue empty and an instance idle runs on the caller's thread, sparing a
    /// thread hop (≈ 1.7 µs per call on the MLP). The caller's thread is then busy until the run ends, so requests
    /// fanned out from one thread (<c>Task.WhenAll</c> over many calls) run one after another instead of being
    /// batched: turn it on only for callers that send one request at a time. Default: false. Batches formed later
    /// always run on the thread pool.
    /// </summary>
    public bool InlineExecution { get; init; }

    /// <summary>Checks the values and names every invalid one.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (MaxBatchSize is < 1 or > 65536) errors.Add($"MaxBatchSize must be 1..65536 (was {MaxBatchSize}).");
        if (MaxQueueDelay < TimeSpan.Zero || MaxQueueDelay > TimeSpan.FromSeconds(10)) errors.Add($"MaxQueueDelay must be 0..10 s (was {MaxQueueDelay}).");
        if (MaxQueueSize is < 1 or > 1_000_000) errors.Add($"MaxQueueSize must be 1..1000000 (was {MaxQueueSize}).");
        if (Instances is < 1 or > 256) errors.Add($"Instances must be 1..256 (was {Instances}).");
        if (MaxBatchElements is < 1) errors.Add($"MaxBatchElements must be 1 or more, or null (was {MaxBatchElements}).");
        if (errors.Count > 0) throw new InvalidModelConfigException("Invalid batching options: " + string.Join(" ", errors));
    }
}
