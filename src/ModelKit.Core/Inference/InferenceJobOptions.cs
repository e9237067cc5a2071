namespace ModelKit.Inference;

/// <summary>Settings of asynchronous jobs.</summary>
public sealed class InferenceJobOptions
{
    /// <summary>Jobs kept (running and finished); the oldest finished ones are forgotten first, and when all are unfinished a submission gets QUEUE_FULL. Default: 10,000.</summary>
    public int MaxJobs { get; set; } = 10_000;

    /// <summary>How long a finished job (and its result) is kept. Default: 1 hour.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Jobs submitted to model queues at once; the rest wait as <see cref="InferenceJobStatus.Queued"/>. Default: 64.</summary>
    public int MaxConcurrentJobs { get; set; } = 64;

    /// <summary>The timeout of a job whose request names none; longer than an interactive call's. Default: 10 minutes.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
