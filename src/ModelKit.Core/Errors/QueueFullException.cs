namespace ModelKit;

/// <summary>The request queue is full (QUEUE_FULL); <see cref="RetryAfter"/> says when a retry is likely to be accepted.</summary>
public sealed class QueueFullException(string message, TimeSpan retryAfter) : ModelKitException(ModelKitErrorCodes.QueueFull, message)
{
    /// <summary>A hint for when to retry.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}
