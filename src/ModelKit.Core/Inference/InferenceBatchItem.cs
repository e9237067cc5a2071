namespace ModelKit.Inference;

/// <summary>
/// One item of a client's batch (seed 003's <c>/inference/batch</c>, seed 000's <c>batch_inference</c>): the request,
/// or the reason the caller could not build it (a bad item fails alone and still counts in the summary).
/// </summary>
public sealed record InferenceBatchItem
{
    /// <summary>The request to run, when the item could be read.</summary>
    public InferenceRequest? Request { get; init; }

    /// <summary>Why the item could not be read, when it could not.</summary>
    public Exception? Error { get; init; }

    /// <summary>An item that runs <paramref name="request"/>.</summary>
    public static InferenceBatchItem Of(InferenceRequest request) => new() { Request = request ?? throw new ArgumentNullException(nameof(request)) };

    /// <summary>An item that failed before it could run.</summary>
    public static InferenceBatchItem Failed(Exception error) => new() { Error = error ?? throw new ArgumentNullException(nameof(error)) };
}
