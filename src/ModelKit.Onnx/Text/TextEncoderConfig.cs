using System.Text.Json;

namespace ModelKit.Onnx.Text;

/// <summary>How token vectors become one sentence vector.</summary>
internal enum TextPooling
{
    /// <summary>The mean over the tokens the attention mask keeps.</summary>
    Mean,

    /// <summary>The first token's vector (<c>[CLS]</c>).</summary>
    Cls,

    /// <summary>The element-wise maximum over the kept tokens.</summary>
    Max,

    /// <summary>The sum over the kept tokens divided by the square root of their count.</summary>
    MeanSqrtLength,
}

/// <summary>
/// What the sentence-transformers files stored with a model say (<c>1_Pooling/config.json</c>, <c>modules.json</c>,
/// <c>sentence_bert_config.json</c>); without them: mean pooling, L2 normalisation, the tokenizer's maximum length.
/// </summary>
internal sealed record TextEncoderConfig
{
    public TextPooling Pooling { get; init; } = TextPooling.Mean;

    public bool Normalize { get; init; } = true;

    public int? MaxSequenceLength { get; init; }

    public int? Dimensions { get; init; }

    public static TextEncoderConfig Read(IReadOnlyDictionary<string, string> files)
    {
        var config = new TextEncoderConfig();
        if (ModelTokenizers.Find(files, "modules.json") is { } modules && Parse(modules.Path) is { ValueKind: JsonValueKind.Array } list)
        {
            // A sentence-transformers pipeline normalises only when it lists a Normalize module.
            var normalize = false;
            foreach (var module in list.EnumerateArray())
            {
                if (module.ValueKind == JsonValueKind.Object && module.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                    && type.GetString()!.EndsWith(".Normalize", StringComparison.Ordinal))
                {
                    normalize = true;
                }
            }

            config = config with { Normalize = normalize };
        }

        if (ModelTokenizers.Find(files, "1_Pooling/config.json") is { } pooling && Parse(pooling.Path) is { ValueKind: JsonValueKind.Object } p)
        {
            config = config with
            {
                Pooling = Flag(p, "pooling_mode_cls_token") ? TextPooling.Cls
                    : Flag(p, "pooling_mode_max_tokens") ? TextPooling.Max
                    : Flag(p, "pooling_mode_mean_sqrt_len_tokens") ? TextPooling.MeanSqrtLength
                    : TextPooling.Mean,
                Dimensions = p.TryGetProperty("word_embedding_dimension", out var d) && d.ValueKind == JsonValueKind.Number && d.TryGetInt32(out var dims) && dims > 0 ? dims : null,
            };
        }

        if (ModelTokenizers.Find(files, "sentence_bert_config.json") is { } sb && Parse(sb.Path) is { ValueKind: JsonValueKind.Object } s
            && s.TryGetProperty("max_seq_length", out var max) && max.ValueKind == JsonValueKind.Number && max.TryGetInt32(out var length) && length > 2)
        {
            config = config with { MaxSequenceLength = length };
        }

        return config;
    }

    private static bool Flag(JsonElement e, string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.True;

    private static JsonElement? Parse(string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            return document.RootElement.Clone();
        }
        catch (Exception ex) when (ex is JsonException or IOException or UnauthorizedAccessException)
        {
            return null; // an unreadable config leaves the defaults
        }
    }
}
