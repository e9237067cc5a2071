namespace ModelKit.Scheduling;

/// <summary>Counters of one queue.</summary>
public sealed record BatchQueueStats
{
    /// <summary>Requests waiting.</summary>
    public int QueueLength { get; init; }
    /// <summary>Batches running.</summary>
    public int Running { get; init; }
    /// <summary>Execution instances.</summary>
    public int Instances { get; init; }
    /// <summary>Requests accepted.</summary>
    public long Enqueued { get; init; }
    /// <summary>Requests that returned outputs.</summary>
    public long Succeeded { get; init; }
    /// <summary>Requests that failed in the backend.</summary>
    public long Failed { get; init; }
    /// <summary>Requests that ran past their timeout.</summary>
    public long TimedOut { get; init; }
    /// <summary>Requests cancelled by the caller.</summary>
    public long Cancelled { get; init; }
    /// <summary>Requests refused because the queue was full.</summary>
    public long Rejected { get; init; }
    /// <summary>Backend runs.</summary>
    public long Batches { get; init; }
    /// <summary>
    /// Batches stopped before their end because every caller had timed out or gone away: in the backend (ONNX Runtime
    /// terminates the run) or while their model was still loading.
    /// </summary>
    public long Terminated { get; init; }
    /// <summary>Mean requests per backend run.</summary>
    public double AverageBatchSize { get; init; }
    /// <summary>
    /// Mean time from enqueue to outputs of the requests that succeeded (queue wait and backend run), since the queue
    /// started; zero before the first. Serialised as <see cref="AverageLatencyMs"/>.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public TimeSpan AverageLatency { get; init; }

    /// <summary><see cref="AverageLatency"/> in milliseconds; null before a request has succeeded (nothing measured yet).</summary>
    public double? AverageLatencyMs => Succeeded == 0 ? null : AverageLatency.TotalMilliseconds;

    /// <summary>The counters of several queues added up (the average batch size weighted by each queue's runs, the average latency by its succeeded requests).</summary>
    public static BatchQueueStats Sum(IEnumerable<BatchQueueStats> queues)
    {
        ArgumentNullException.ThrowIfNull(queues);
        var total = new BatchQueueStats();
        double batched = 0, latencyTicks = 0;
        foreach (var q in queues)
        {
            batched += q.AverageBatchSize * q.Batches;
            latencyTicks += (double)q.AverageLatency.Ticks * q.Succeeded;
            total = new BatchQueueStats
            {
                QueueLength = total.QueueLength + q.QueueLength,
                Running = total.Running + q.Running,
                Instances = total.Instances + q.Instances,
                Enqueued = total.Enqueued + q.Enqueued,
                Succeeded = total.Succeeded + q.Succeeded,
                Failed = total.Failed + q.Failed,
                TimedOut = total.TimedOut + q.TimedOut,
                Cancelled = total.Cancelled + q.Cancelled,
                Rejected = total.Rejected + q.Rejected,
                Batches = total.Batches + q.Batches,
                Terminated = total.Terminated + q.Terminated,
            };
        }

        return total with
        {
            AverageBatchSize = total.Batches == 0 ? 0 : batched / total.Batches,
            AverageLatency = total.Succeeded == 0 ? TimeSpan.Zero : TimeSpan.FromTicks((long)(latencyTicks / total.Succeeded)),
        };
    }
}
