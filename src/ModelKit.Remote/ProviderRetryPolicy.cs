using System.ClientModel.Primitives;

namespace ModelKit.Remote;

/// <summary>
/// The OpenAI client's retries (unreachable, 408, 500, 502, 503, 504, with exponential back-off), except a 429: a
/// provider that limits the rate answers QUEUE_FULL at once with its <c>Retry-After</c>, so that the client decides,
/// rather than the request sleeping here (a provider's <c>Retry-After</c> may be an hour).
/// </summary>
internal sealed class ProviderRetryPolicy(int maxRetries) : ClientRetryPolicy(maxRetries)
{
    protected override bool ShouldRetry(PipelineMessage message, Exception? exception) =>
        message.Response?.Status != 429 && base.ShouldRetry(message, exception);

    protected override ValueTask<bool> ShouldRetryAsync(PipelineMessage message, Exception? exception) =>
        message.Response?.Status == 429 ? ValueTask.FromResult(false) : base.ShouldRetryAsync(message, exception);
}
