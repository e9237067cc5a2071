using ModelKit.Inference;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

/// <summary>
/// Seed 000's inference result (and batch item): request id, model, outputs, processing time in seconds, timestamp. A
/// batch item that failed has <c>error</c> in place of the outputs. <c>confidence</c> is left out: a tensor model's
/// outputs carry no confidence ModelKit could report without knowing what they mean.
/// </summary>
internal sealed record DeploymentInferenceResult
{
    public required string RequestId { get; init; }
    public required string ModelId { get; init; }
    public string? Version { get; init; }
    public Dictionary<string, TensorPayload>? OutputData { get; init; }
    public double? ProcessingTime { get; init; }
    public DateTimeOffset Timestamp { get; init; }
    public DeploymentError? Error { get; init; }

    public static DeploymentInferenceResult From(InferenceResult result, string requestId) => new()
    {
        RequestId = requestId,
        ModelId = result.ModelId,
        Version = result.Version,
        OutputData = TensorJson.WriteOutputs(result.Outputs),
        ProcessingTime = result.Duration.TotalSeconds,
        Timestamp = DateTimeOffset.UtcNow,
    };
}
