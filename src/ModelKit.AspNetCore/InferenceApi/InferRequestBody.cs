using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>
/// Seed 003's inference request (<c>/inference/infer</c>, each item of <c>/inference/batch</c>, <c>/inference/async</c>,
/// the legacy <c>/infer_fixed</c> and <c>/infer_multimodal</c>): <c>task</c>, <c>engine</c>, <c>model_name</c>, <c>data</c>,
/// <c>options</c> as the seed names them, plus ModelKit's <c>version</c>, <c>timeout</c> and <c>priority</c> (also read from
/// <c>options</c>) and the seed 000 names <c>model_id</c> and <c>input_data</c>.
/// </summary>
internal sealed record InferRequestBody
{
    /// <summary>The task the caller expects the model to perform; UNSUPPORTED_TASK when the model is registered with another.</summary>
    public string? Task { get; init; }

    /// <summary><c>onnxruntime</c>, <c>onnx</c> or absent; another engine is INVALID_INPUT (<c>UnsupportedEngineError</c>).</summary>
    public string? Engine { get; init; }

    /// <summary>The model's id.</summary>
    public string? ModelName { get; init; }

    /// <summary>Seed 000's name for <see cref="ModelName"/>.</summary>
    public string? ModelId { get; init; }

    /// <summary>The version; the served (deployed or default) one when absent.</summary>
    public string? Version { get; init; }

    /// <summary>The inputs: named tensors, named nested arrays, or (one-input models) a nested array.</summary>
    public ModelKit.Tensors.RawJson? Data { get; init; }

    /// <summary>Seed 000's name for <see cref="Data"/>.</summary>
    public ModelKit.Tensors.RawJson? InputData { get; init; }

    /// <summary><c>/infer_multimodal</c>: the named inputs, one per modality (same forms as <see cref="Data"/>'s named ones).</summary>
    public ModelKit.Tensors.RawJson? Inputs { get; init; }

    /// <summary>Engine options; ModelKit reads <c>timeout</c> (seconds) and <c>priority</c> and ignores the rest.</summary>
    public JsonObject? Options { get; init; }

    /// <summary>Seconds the caller waits before TIMEOUT.</summary>
    public double? Timeout { get; init; }

    /// <summary><c>low</c>, <c>normal</c> or <c>high</c>.</summary>
    public string? Priority { get; init; }
}
