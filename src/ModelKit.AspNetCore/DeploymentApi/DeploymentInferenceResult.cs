using Microsoft.AspNetCore.Http;
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

/// <summary>
/// Seed 000's inference answer written straight to the response with <see cref="System.Text.Json.Utf8JsonWriter"/>: the same
/// JSON as <see cref="DeploymentInferenceResult"/> serialised with <see cref="ModelKitJson.Options"/>, without the serializer's
/// per-response state, the outputs' copies or the payload dictionary (the output tensors are written from their elements).
/// </summary>
internal sealed class DeploymentInferenceAnswer(InferenceResult result, string requestId) : IResult
{
    private static readonly System.Text.Json.JsonEncodedText RequestIdName = System.Text.Json.JsonEncodedText.Encode("request_id");
    private static readonly System.Text.Json.JsonEncodedText ModelIdName = System.Text.Json.JsonEncodedText.Encode("model_id");
    private static readonly System.Text.Json.JsonEncodedText VersionName = System.Text.Json.JsonEncodedText.Encode("version");
    private static readonly System.Text.Json.JsonEncodedText OutputDataName = System.Text.Json.JsonEncodedText.Encode("output_data");
    private static readonly System.Text.Json.JsonEncodedText ProcessingTimeName = System.Text.Json.JsonEncodedText.Encode("processing_time");
    private static readonly System.Text.Json.JsonEncodedText TimestampName = System.Text.Json.JsonEncodedText.Encode("timestamp");

    public Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        using (var writer = new System.Text.Json.Utf8JsonWriter(response.BodyWriter, new System.Text.Json.JsonWriterOptions { Encoder = ModelKitJson.Options.Encoder }))
        {
            writer.WriteStartObject();
            writer.WriteString(RequestIdName, requestId);
            writer.WriteString(ModelIdName, result.ModelId);
            if (result.Version is { } version) writer.WriteString(VersionName, version);
            writer.WriteStartObject(OutputDataName);
            foreach (var (name, tensor) in result.Outputs)
            {
                writer.WritePropertyName(name);
                TensorJson.WriteTensor(writer, tensor, ModelKitJson.Options);
            }

            writer.WriteEndObject();
            writer.WriteNumber(ProcessingTimeName, result.Duration.TotalSeconds);
            writer.WriteString(TimestampName, DateTimeOffset.UtcNow);
            writer.WriteEndObject();
        }

        return response.BodyWriter.FlushAsync(httpContext.RequestAborted).AsTask();
    }
}
