using System.Text.Json.Nodes;

namespace ModelKit.AspNetCore;

// Request and response bodies in the seeds' shapes (snake_case on the wire).

internal sealed record InferenceBody
{
    public string? ModelId { get; init; }
    public string? ModelName { get; init; }
    public string? Version { get; init; }
    public ModelKit.Tensors.RawJson? InputData { get; init; }
    public JsonObject? Parameters { get; init; }
    public double? Timeout { get; init; }
    public string? Priority { get; init; }

    // Seed 003's names: data (= input_data), options (= parameters), task (checked against the model's), engine.
    public ModelKit.Tensors.RawJson? Data { get; init; }
    public JsonObject? Options { get; init; }
    public string? Task { get; init; }
    public string? Engine { get; init; }
}
