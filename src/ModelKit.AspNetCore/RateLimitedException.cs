namespace ModelKit.AspNetCore;

/// <summary>The API key's request budget is spent (RATE_LIMITED, 429 with <see cref="RetryAfter"/>).</summary>
public sealed class RateLimitedException(string message, TimeSpan retryAfter) : ModelKitException(ModelKitProblems.RateLimited, message)
{
    /// <summary>When the budget refills.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}
