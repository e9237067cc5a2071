using System.Text.Json;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// What a decoder's <c>config.json</c>, <c>generation_config.json</c> and <c>tokenizer_config.json</c> say about
/// generating with it: the context length, the end-of-sequence ids, the cache's head count and size, the chat template.
/// </summary>
internal sealed record DecoderConfig
{
    public int? ContextLength { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? BosTokenId { get; init; }
    public int? KvHeads { get; init; }
    public int? HeadDim { get; init; }
    public string? ChatTemplate { get; init; }
    public string? BosToken { get; init; }
    public string? EosToken { get; init; }

    public static DecoderConfig Read(IReadOnlyDictionary<string, string> files)
    {
        var config = new DecoderConfig();
        if (ModelTokenizers.Find(files, "config.json") is { } model)
        {
            Apply(model.Path, root =>
            {
                var heads = Int(root, "num_attention_heads") ?? Int(root, "n_head");
                var hidden = Int(root, "hidden_size") ?? Int(root, "n_embd");
                config = config with
                {
                    ContextLength = Int(root, "max_position_embeddings") ?? Int(root, "n_positions") ?? Int(root, "n_ctx") ?? Int(root, "seq_length"),
                    EosTokenIds = Ids(root, "eos_token_id") ?? config.EosTokenIds,
                    BosTokenId = Ids(root, "bos_token_id") is [var bos, ..] ? bos : null,
                    KvHeads = Int(root, "num_key_value_heads") ?? heads,
                    HeadDim = Int(root, "head_dim") ?? (heads is > 0 && hidden is > 0 ? hidden / heads : null),
                };
            });
        }

        if (ModelTokenizers.Find(files, "generation_config.json") is { } generation)
        {
            Apply(generation.Path, root => config = config with
            {
                EosTokenIds = Ids(root, "eos_token_id") ?? config.EosTokenIds,
                BosTokenId = Ids(root, "bos_token_id") is [var bos, ..] ? bos : config.BosTokenId,
            });
        }

        if (ModelTokenizers.Find(files, "tokenizer_config.json") is { } tokenizer)
        {
            Apply(tokenizer.Path, root => config = config with
            {
                ChatTemplate = Template(root) ?? config.ChatTemplate,
                BosToken = Token(root, "bos_token") ?? config.BosToken,
                EosToken = Token(root, "eos_token") ?? config.EosToken,
            });
        }

        return config;
    }

    private static void Apply(string path, Action<JsonElement> read)
    {
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            if (document.RootElement.ValueKind == JsonValueKind.Object) read(document.RootElement);
        }
        catch (JsonException ex)
        {
            throw new InvalidModelConfigException($"The model's {Path.GetFileName(path)} is not valid JSON: {ex.Message}");
        }
    }

    private static int? Int(JsonElement root, string name) =>
        root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) && i > 0 ? i : null;

    // "eos_token_id": 2 or [128001, 128009].
    private static int[]? Ids(JsonElement root, string name)
    {
        if (!root.TryGetProperty(name, out var v)) return null;
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var one) && one >= 0) return [one];
        if (v.ValueKind != JsonValueKind.Array) return null;
        var ids = new List<int>();
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.Number && item.TryGetInt32(out var id) && id >= 0) ids.Add(id);
        }

        return [.. ids];
    }

    // "chat_template": "…" or [{"name": "default", "template": "…"}, …].
    private static string? Template(JsonElement root)
    {
        if (!root.TryGetProperty("chat_template", out var v)) return null;
        if (v.ValueKind == JsonValueKind.String) return v.GetString();
        if (v.ValueKind != JsonValueKind.Array) return null;
        string? first = null;
        foreach (var item in v.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("template", out var t) || t.ValueKind != JsonValueKind.String) continue;
            if (item.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default") return t.GetString();
            first ??= t.GetString();
        }

        return first;
    }

    private static string? Token(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : value.ValueKind == JsonValueKind.Object && value.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.String ? content.GetString()
        : null;
}
