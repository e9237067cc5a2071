using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelKit.Scheduling;
using ModelKit.Text;

namespace ModelKit.AspNetCore;

/// <summary>
/// An embeddings request as OpenAI's <c>POST /v1/embeddings</c> and seed 001's <c>POST /models/{model_id}/embeddings</c>
/// take it: <c>input</c> is a string, an array of strings, an array of token ids, or an array of token-id arrays.
/// </summary>
internal sealed record EmbeddingsBody
{
    /// <summary>The text(s) or token ids to embed.</summary>
    public JsonElement? Input { get; init; }

    /// <summary>The model (OpenAI's field; seed 001 takes it from the path).</summary>
    public string? Model { get; init; }

    /// <summary><c>float</c> (default) or <c>base64</c> (little-endian float32 bytes).</summary>
    public string? EncodingFormat { get; init; }

    /// <summary>The length of the vectors returned (the first values, normalised again); at most the model's.</summary>
    public int? Dimensions { get; init; }

    /// <summary>OpenAI's end-user id; accepted and not used.</summary>
    public string? User { get; init; }

    /// <summary>ModelKit: cut texts longer than the model takes (default true); false refuses them.</summary>
    public bool? Truncate { get; init; }

    /// <summary>ModelKit: the model version; default: the deployment's, else the default version.</summary>
    public string? Version { get; init; }

    /// <summary>ModelKit: <c>high</c>, <c>normal</c> or <c>low</c>.</summary>
    public string? Priority { get; init; }
}

/// <summary>The embeddings answer of both surfaces (OpenAI's shape; seed 001 wraps it in its envelope).</summary>
internal sealed record EmbeddingsList(IReadOnlyList<EmbeddingItem> Data, string Model, EmbeddingsUsage Usage)
{
    public string Object { get; } = "list";

    /// <summary>ModelKit: the version that ran.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>ModelKit: the indexes of inputs cut to <see cref="MaxTokens"/> (empty when none was).</summary>
    public IReadOnlyList<int>? TruncatedInputs { get; init; }

    /// <summary>ModelKit: the most tokens the model takes per input.</summary>
    public int MaxTokens { get; init; }
}

/// <summary>One vector: an array of floats, or a base64 string of little-endian float32 bytes.</summary>
internal sealed record EmbeddingItem(int Index, [property: JsonConverter(typeof(EmbeddingValueConverter))] object Embedding)
{
    public string Object { get; } = "embedding";
}

/// <summary>Tokens counted: every token the model was given, special tokens included.</summary>
internal sealed record EmbeddingsUsage(int PromptTokens, int TotalTokens);

/// <summary>Writes a float[] as a JSON array and a string as itself.</summary>
internal sealed class EmbeddingValueConverter : JsonConverter<object>
{
    public override object Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

    public override void Write(Utf8JsonWriter writer, object value, JsonSerializerOptions options)
    {
        if (value is string base64)
        {
            writer.WriteStringValue(base64);
            return;
        }

        writer.WriteStartArray();
        foreach (var v in (float[])value)
        {
            // A model that outputs NaN or ±Infinity: written as the named literals, as every other ModelKit answer does.
            if (float.IsFinite(v)) writer.WriteNumberValue(v);
            else writer.WriteStringValue(v.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        writer.WriteEndArray();
    }
}

/// <summary>The embeddings body as a Core request, and the result as the wire's list.</summary>
internal static class Embeddings
{
    public static TextEmbeddingRequest ToRequest(string modelId, EmbeddingsBody body)
    {
        if (body.EncodingFormat is not (null or "float" or "base64"))
        {
            throw new InvalidInputException($"'encoding_format' is '{ClientText.Quote(body.EncodingFormat, 20)}'; use 'float' or 'base64'.");
        }

        var request = new TextEmbeddingRequest
        {
            ModelId = modelId,
            Version = body.Version,
            Dimensions = body.Dimensions,
            Truncate = body.Truncate ?? true,
            Priority = Parse.Priority(body.Priority),
        };
        if (body.Input is not { } input || input.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            throw new InvalidInputException("'input' is required: a string, an array of strings, an array of token ids or an array of token-id arrays.");
        }

        switch (input.ValueKind)
        {
            case JsonValueKind.String:
                return request with { Texts = [Text(input, 0)] };
            case JsonValueKind.Array when input.GetArrayLength() == 0:
                return request with { Texts = [] }; // the service names the empty input
            case JsonValueKind.Array:
                var first = input[0].ValueKind;
                if (first == JsonValueKind.String) return request with { Texts = Strings(input) };
                if (first == JsonValueKind.Number) return request with { TokenIds = [TokenIds(input, "input")] };
                if (first == JsonValueKind.Array)
                {
                    var lists = new List<IReadOnlyList<int>>(input.GetArrayLength());
                    var i = 0;
                    foreach (var item in input.EnumerateArray())
                    {
                        if (item.ValueKind != JsonValueKind.Array) throw Mixed();
                        lists.Add(TokenIds(item, $"input[{i++}]"));
                    }

                    return request with { TokenIds = lists };
                }

                throw Mixed();
            default:
                throw new InvalidInputException($"'input' is a JSON {Kind(input.ValueKind)}; send a string, an array of strings, an array of token ids or an array of token-id arrays.");
        }
    }

    public static EmbeddingsList ToList(TextEmbeddingResult result, string? encodingFormat)
    {
        var items = new EmbeddingItem[result.Embeddings.Count];
        List<int>? truncated = null;
        for (var i = 0; i < items.Length; i++)
        {
            var vector = result.Embeddings[i];
            items[i] = new EmbeddingItem(i, encodingFormat == "base64" ? Base64(vector) : vector);
            if (result.Truncated[i]) (truncated ??= []).Add(i);
        }

        return new EmbeddingsList(items, result.ModelId, new EmbeddingsUsage(result.TotalTokens, result.TotalTokens))
        {
            ModelVersion = result.Version,
            TruncatedInputs = truncated ?? [],
            MaxTokens = result.MaxTokens,
        };
    }

    private static string Base64(float[] vector)
    {
        var bytes = new byte[vector.Length * sizeof(float)];
        for (var i = 0; i < vector.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), vector[i]);
        return Convert.ToBase64String(bytes);
    }

    private static List<string> Strings(JsonElement array)
    {
        var texts = new List<string>(array.GetArrayLength());
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw Mixed();
            texts.Add(Text(item, texts.Count));
        }

        return texts;
    }

    // A JSON string as text; one that escapes half of a surrogate pair (\ud800 alone) is no text.
    private static string Text(JsonElement item, int index)
    {
        try
        {
            return item.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new InvalidInputException($"input[{index}] is not valid text: it holds an unpaired UTF-16 surrogate escape (such as \\ud800 alone).");
        }
    }

    private static int[] TokenIds(JsonElement array, string name)
    {
        var ids = new int[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i]))
            {
                throw new InvalidInputException($"{name}[{i}] is not a token id: token ids are integers.");
            }

            i++;
        }

        return ids;
    }

    private static InvalidInputException Mixed() =>
        new("'input' mixes kinds of entries; send all strings, all token ids, or all token-id arrays.");

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
