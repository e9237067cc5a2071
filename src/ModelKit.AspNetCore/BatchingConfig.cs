using ModelKit.Scheduling;

namespace ModelKit.AspNetCore;

internal sealed record BatchingConfig
{
    public int? MaxBatchSize { get; init; }
    public double? MaxQueueDelayMs { get; init; }
    public int? MaxQueueSize { get; init; }

    /// <summary>ModelKit: the most elements of a merged run's largest input (a text encoder's token budget: rows × padded length).</summary>
    public long? MaxBatchElements { get; init; }

    /// <summary>These settings over <paramref name="basis"/> (the library defaults when null); fields left out keep the basis's value.</summary>
    public BatchingOptions ToOptions(BatchingOptions? basis = null)
    {
        basis ??= new BatchingOptions();
        return basis with
        {
            MaxBatchSize = MaxBatchSize ?? basis.MaxBatchSize,
            MaxQueueDelay = MaxQueueDelayMs is { } ms ? TimeSpan.FromMilliseconds(ms) : basis.MaxQueueDelay,
            MaxQueueSize = MaxQueueSize ?? basis.MaxQueueSize,
            MaxBatchElements = MaxBatchElements ?? basis.MaxBatchElements,
        };
    }
}
