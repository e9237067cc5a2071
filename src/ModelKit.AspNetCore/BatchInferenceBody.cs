namespace ModelKit.AspNetCore;

internal sealed record BatchInferenceBody
{
    public List<InferenceBody>? Requests { get; init; }
    public double? Timeout { get; init; }
    public string? Priority { get; init; }

    /// <summary>Seed 003: false runs the items one after another, in order; true or left out lets them batch together.</summary>
    public bool? Parallel { get; init; }
}
