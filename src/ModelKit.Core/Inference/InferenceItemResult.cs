namespace ModelKit.Inference;

/// <summary>One item of a client-side batch: a result or an error.</summary>
public sealed record InferenceItemResult
{
    /// <summary>The result when the item succeeded.</summary>
    public InferenceResult? Result { get; init; }
    /// <summary>The error when it failed.</summary>
    public Exception? Error { get; init; }
    /// <summary>True when <see cref="Result"/> is set.</summary>
    public bool Succeeded => Result is not null;
}
