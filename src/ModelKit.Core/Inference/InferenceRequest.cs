using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Inference;

/// <summary>One inference call.</summary>
public sealed record InferenceRequest
{
    /// <summary>The model to run.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version; the model's default version when null.</summary>
    public string? Version { get; init; }

    /// <summary>The inputs by name. Dimension 0 is the batch dimension when the model has a dynamic one.</summary>
    public required IReadOnlyDictionary<string, Tensor> Inputs { get; init; }

    /// <summary>The queue priority; the deployment's default priority (normal for a model served on demand) when null.</summary>
    public RequestPriority? Priority { get; init; }

    /// <summary>How long the caller waits before INFERENCE_TIMEOUT; <see cref="InferenceOptions.DefaultTimeout"/> when null.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// The task the caller expects the model to perform (for example <c>classification</c>); UNSUPPORTED_TASK when the
    /// model is registered with another task. Not checked when null or when the model has no task.
    /// </summary>
    public string? Task { get; init; }
}
