namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>Seed 003's <c>BatchInferenceRequest</c>: 1 to 100 <c>requests</c> and <c>parallel</c> (default false: one after another, in order).</summary>
internal sealed record BatchRequestBody
{
    /// <summary>The requests, each as <c>/inference/infer</c> takes it.</summary>
    public List<InferRequestBody?>? Requests { get; init; }

    /// <summary>False or absent (the seed's default): sequential, in order; true: queued together, so they can share backend batches.</summary>
    public bool? Parallel { get; init; }

    /// <summary>A timeout (seconds) for items that give none.</summary>
    public double? Timeout { get; init; }

    /// <summary>A priority for items that give none.</summary>
    public string? Priority { get; init; }
}
