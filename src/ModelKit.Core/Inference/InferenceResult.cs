using ModelKit.Tensors;

namespace ModelKit.Inference;

/// <summary>The outputs of one call.</summary>
public sealed record InferenceResult
{
    /// <summary>The model that ran.</summary>
    public required string ModelId { get; init; }
    /// <summary>The version that ran.</summary>
    public required string Version { get; init; }
    /// <summary>The outputs by name.</summary>
    public required IReadOnlyDictionary<string, Tensor> Outputs { get; init; }
    /// <summary>Time from submission to result.</summary>
    public TimeSpan Duration { get; init; }
}
