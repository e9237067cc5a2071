using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

internal sealed record InferenceResponse
{
    public required string RequestId { get; init; }
    public required string ModelId { get; init; }
    public required string Version { get; init; }
    public required Dictionary<string, TensorPayload> OutputData { get; init; }
    public double ProcessingTime { get; init; }
    public DateTimeOffset Timestamp { get; init; }
}
