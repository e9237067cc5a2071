namespace ModelKit.AspNetCore;

internal sealed record BatchItemResponse
{
    public int Index { get; init; }
    public bool Success { get; init; }
    public InferenceResponse? Result { get; init; }
    public ErrorBody? Error { get; init; }
}
