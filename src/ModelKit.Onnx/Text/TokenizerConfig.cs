using System.Text.Json;

namespace ModelKit.Onnx.Text;

/// <summary>What Hugging Face <c>tokenizer_config.json</c> and <c>special_tokens_map.json</c> say, where present.</summary>
internal sealed record TokenizerConfig
{
    public bool? DoLowerCase { get; init; }
    public int? ModelMaxLength { get; init; }
    public string? UnknownToken { get; init; }
    public string? ClassificationToken { get; init; }
    public string? SeparatorToken { get; init; }
    public string? PaddingToken { get; init; }
    public string? MaskToken { get; init; }
    public string? BeginningToken { get; init; }
    public string? EndToken { get; init; }

    /// <summary><c>add_bos_token</c>: whether the beginning-of-sequence token goes before every text (Llama: true).</summary>
    public bool? AddBeginningToken { get; init; }

    /// <summary><c>add_eos_token</c>: whether the end-of-sequence token goes after every text.</summary>
    public bool? AddEndToken { get; init; }

    /// <summary><c>tokenizer_class</c>, e.g. <c>T5Tokenizer</c>, <c>LlamaTokenizer</c>, <c>GPT2Tokenizer</c>.</summary>
    public string? TokenizerClass { get; init; }

    public static TokenizerConfig Read(IReadOnlyDictionary<string, string> files)
    {
        var config = new TokenizerConfig();
        if (ModelTokenizers.Find(files, "special_tokens_map.json") is { } map) config = Apply(config, map.Path);
        if (ModelTokenizers.Find(files, "tokenizer_config.json") is { } tc) config = Apply(config, tc.Path);
        return config;
    }

    private static TokenizerConfig Apply(TokenizerConfig config, string path)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return config;
            return config with
            {
                DoLowerCase = Flag(root, "do_lower_case") ?? config.DoLowerCase,
                AddBeginningToken = Flag(root, "add_bos_token") ?? config.AddBeginningToken,
                AddEndToken = Flag(root, "add_eos_token") ?? config.AddEndToken,
                TokenizerClass = root.TryGetProperty("tokenizer_class", out var cls) && cls.ValueKind == JsonValueKind.String ? cls.GetString() : config.TokenizerClass,
                // Hugging Face writes a huge number (1e30) when the length is not set.
                ModelMaxLength = root.TryGetProperty("model_max_length", out var max) && max.ValueKind == JsonValueKind.Number && max.TryGetDouble(out var m) && m is >= 1 and <= 1_000_000
                    ? (int)m : config.ModelMaxLength,
                UnknownToken = Token(root, "unk_token") ?? config.UnknownToken,
                ClassificationToken = Token(root, "cls_token") ?? config.ClassificationToken,
                SeparatorToken = Token(root, "sep_token") ?? config.SeparatorToken,
                PaddingToken = Token(root, "pad_token") ?? config.PaddingToken,
                MaskToken = Token(root, "mask_token") ?? config.MaskToken,
                BeginningToken = Token(root, "bos_token") ?? config.BeginningToken,
                EndToken = Token(root, "eos_token") ?? config.EndToken,
            };
        }
        catch (JsonException)
        {
            return config; // an unreadable config leaves the tokenizer's defaults
        }
    }

    private static bool? Flag(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : null;

    // "cls_token": "[CLS]" or {"content": "[CLS]", …} (AddedToken form).
    private static string? Token(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString()
        : null;
}
