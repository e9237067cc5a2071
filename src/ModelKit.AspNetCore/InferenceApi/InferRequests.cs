using System.Text.Json;
using System.Text.Json.Nodes;
using ModelKit.Inference;
using ModelKit.Serving;

namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>Seed 003's request body as a Core request: the engine check, the seed's names, then the shared reading against the model's signature.</summary>
internal static class InferRequests
{
    /// <summary>The model the body names (<c>model_name</c>, or <c>model_id</c>); INVALID_INPUT when neither.</summary>
    public static string ModelOf(InferRequestBody body) =>
        (body.ModelName ?? body.ModelId) is { } id && !string.IsNullOrWhiteSpace(id) ? id : throw new InvalidInputException("'model_name' is required.");

    /// <summary>
    /// Resolves the model once and reads the inputs against its signature. <paramref name="multimodal"/> takes the named
    /// <c>inputs</c> (or <c>data</c>) object of <c>/infer_multimodal</c>. <paramref name="timeout"/> and
    /// <paramref name="priority"/> apply when the body (and its options) give none.
    /// </summary>
    public static Task<(IServedModel Model, InferenceRequest Request)> ToRequestAsync(
        InferRequestBody body, IInferenceService inference, CancellationToken cancellationToken, bool multimodal = false, double? timeout = null, string? priority = null)
    {
        UnsupportedEngineException.Check(body.Engine);
        var modelId = ModelOf(body);
        var data = multimodal ? body.Inputs ?? body.Data ?? body.InputData : body.Data ?? body.InputData;
        if (data is not { ValueKind: not JsonValueKind.Null } given)
        {
            throw new InvalidInputException(multimodal ? "'inputs' is required: an object with one named input per modality." : "'data' is required.");
        }

        if (multimodal && given.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidInputException("'inputs' must be an object of named inputs, for example {\"input_ids\": [[101, 102]], \"pixel_values\": […]}.");
        }

        var shared = new InferenceBody
        {
            ModelId = modelId,
            Version = body.Version,
            InputData = given,
            Timeout = body.Timeout ?? Number(body.Options, "timeout") ?? timeout,
            Priority = body.Priority ?? Text(body.Options, "priority") ?? priority,
            Task = body.Task,
        };
        return InferenceBodies.ToRequestAsync(modelId, shared, inference, cancellationToken);
    }

    private static double? Number(JsonObject? options, string name)
    {
        if (options?[name] is not { } node) return null;
        if (node is JsonValue value && value.TryGetValue<double>(out var number)) return number;
        throw new InvalidInputException($"'options.{name}' must be a number of seconds (was {Short(node)}).");
    }

    private static string? Text(JsonObject? options, string name)
    {
        if (options?[name] is not { } node) return null;
        if (node is JsonValue value && value.TryGetValue<string>(out var text)) return text;
        throw new InvalidInputException($"'options.{name}' must be a string (was {Short(node)}).");
    }

    private static string Short(JsonNode node)
    {
        var text = node.ToJsonString();
        return ClientText.Quote(text, 32);
    }
}
