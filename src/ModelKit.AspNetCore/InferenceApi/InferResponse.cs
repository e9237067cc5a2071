using ModelKit.Tensors;

namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>
/// The success body of <c>/inference/infer</c> (and <c>/infer_fixed</c>, <c>/infer_multimodal</c>). The seed keeps the names
/// <c>result</c> and <c>processing_time</c>; ModelKit defines the rest: the request's <c>task</c> (echoed; absent when it names
/// none), <c>engine</c>, <c>model_name</c>, <c>model_version</c>, the <c>request_id</c> and the <c>timestamp</c>.
/// </summary>
internal sealed record InferResponse
{
    /// <summary>Always true.</summary>
    public bool Success { get; init; }
    /// <summary>The task the request named (checked against the model's); absent when it named none.</summary>
    public string? Task { get; init; }
    /// <summary>Always <c>onnxruntime</c>.</summary>
    public required string Engine { get; init; }
    /// <summary>The model that ran.</summary>
    public required string ModelName { get; init; }
    /// <summary>The version that ran.</summary>
    public required string ModelVersion { get; init; }
    /// <summary>What the model returned.</summary>
    public required InferResult Result { get; init; }
    /// <summary>Seconds from submission to result.</summary>
    public double ProcessingTime { get; init; }
    /// <summary>The request's id (also in the logs).</summary>
    public required string RequestId { get; init; }
    /// <summary>Unix time in seconds.</summary>
    public double Timestamp { get; init; }
}

/// <summary>
/// <c>result</c>: the model's outputs by name, each with <c>shape</c>, <c>datatype</c> (Open Inference Protocol names) and flat
/// row-major <c>data</c>. An object rather than the bare outputs, so that generated text (issue 11) can stand beside them.
/// </summary>
internal sealed record InferResult(Dictionary<string, TensorPayload> Outputs);
