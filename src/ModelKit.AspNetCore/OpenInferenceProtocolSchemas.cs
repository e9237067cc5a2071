using System.Text.Json;

namespace ModelKit.AspNetCore;

// The Open Inference Protocol's bodies (KServe v2), as /v2 answers them and as its OpenAPI document describes them.

/// <summary><c>GET /v2/health/live</c>.</summary>
internal sealed record OipLive(bool Live);

/// <summary><c>GET /v2/health/ready</c>.</summary>
internal sealed record OipReady(bool Ready);

/// <summary><c>GET /v2</c>: the server's name, version and protocol extensions.</summary>
internal sealed record OipServerMetadata(string Name, string? Version, IReadOnlyList<string> Extensions);

/// <summary>A tensor of a model's signature: name, datatype (FP32, INT64 …) and shape (-1 for a free dimension).</summary>
internal sealed record OipTensorMetadata(string Name, string Datatype, IReadOnlyList<long> Shape);

/// <summary><c>GET /v2/models/{name}[/versions/{version}]</c>.</summary>
internal sealed record OipModelMetadata(string Name, IReadOnlyList<string> Versions, string Platform, IReadOnlyList<OipTensorMetadata> Inputs, IReadOnlyList<OipTensorMetadata> Outputs);

/// <summary><c>GET /v2/models/{name}/ready</c>.</summary>
internal sealed record OipModelReady(string Name, bool Ready, string? Error = null);

/// <summary>An input of an inference request: <c>data</c> flat or nested, or (binary extension) <c>parameters.binary_data_size</c> bytes after the JSON header.</summary>
internal sealed record OipRequestInput(string Name, IReadOnlyList<long> Shape, string Datatype, JsonElement? Parameters, JsonElement? Data);

/// <summary>An output asked for; <c>parameters.binary_data: true</c> sends it as raw bytes after the JSON header.</summary>
internal sealed record OipRequestOutput(string Name, JsonElement? Parameters);

/// <summary>
/// <c>POST /v2/models/{name}/infer</c>: JSON (<c>application/json</c>), or the binary extension
/// (<c>application/octet-stream</c> with <c>Inference-Header-Content-Length</c>: this JSON header, then the inputs' bytes).
/// </summary>
internal sealed record OipInferRequest(string? Id, JsonElement? Parameters, IReadOnlyList<OipRequestInput> Inputs, IReadOnlyList<OipRequestOutput>? Outputs);

/// <summary>An output: <c>data</c> flat, or (binary extension) <c>parameters.binary_data_size</c> bytes after the JSON header.</summary>
internal sealed record OipResponseOutput(string Name, IReadOnlyList<long> Shape, string Datatype, JsonElement? Parameters, JsonElement? Data);

/// <summary>The answer to an inference request.</summary>
internal sealed record OipInferResponse(string ModelName, string ModelVersion, string? Id, IReadOnlyList<OipResponseOutput> Outputs);
