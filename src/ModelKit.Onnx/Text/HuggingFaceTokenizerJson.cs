using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace ModelKit.Onnx.Text;

/// <summary>
/// A Hugging Face <c>tokenizer.json</c> (the <c>tokenizers</c> library's file) read into a Microsoft.ML.Tokenizers
/// tokenizer: <c>WordPiece</c> models become a <see cref="BertTokenizer"/> over the vocabulary, <c>BPE</c> models a
/// <see cref="BpeTokenizer"/> (byte-level when the pre-tokenizer or decoder is ByteLevel). The post-processor
/// (TemplateProcessing, BertProcessing, RobertaProcessing) says which special ids wrap a text. A SentencePiece-style
/// model (Unigram, or BPE with byte fallback) is read from the <c>tokenizer.model</c> beside it when there is one.
/// </summary>
internal static class HuggingFaceTokenizerJson
{
    public static ModelTokenizer Load((string Name, string Path) file, TokenizerConfig config, (string Name, string Path)? sentencePiece)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(file.Path), new JsonDocumentOptions { MaxDepth = 256 });
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("the file has no 'model' object; it is not a Hugging Face tokenizer.json.");
        }

        var type = String(model, "type")
            ?? (model.TryGetProperty("merges", out _) ? "BPE" : model.TryGetProperty("continuing_subword_prefix", out _) ? "WordPiece" : null);
        var byteFallback = model.TryGetProperty("byte_fallback", out var fallback) && fallback.ValueKind == JsonValueKind.True;
        if ((type == "Unigram" || type == "BPE" && byteFallback) && sentencePiece is { } spm)
        {
            return SentencePieceTokenizerLoader.Load(spm, config);
        }

        return type switch
        {
            "WordPiece" => LoadWordPiece(file.Name, root, model, config),
            "BPE" when byteFallback => throw Unsupported(
                "its BPE model falls back to bytes for unknown characters (SentencePiece style), which ModelKit reads only from the tokenizer.model file; upload tokenizer.model with it"),
            "BPE" => LoadBpe(file.Name, root, model, config),
            _ => throw Unsupported(
                $"the tokenizer model type '{type ?? "(none)"}' is not supported; ModelKit reads WordPiece and BPE models from tokenizer.json" +
                (type == "Unigram" ? ", and Unigram (SentencePiece) models from a tokenizer.model file" : "")),
        };
    }

    // ModelTokenizers.Load names the file and wraps this as INVALID_MODEL_CONFIG, as for every other unreadable file.
    private static NotSupportedException Unsupported(string reason) => new(reason + ".");

    private static ModelTokenizer LoadWordPiece(string name, JsonElement root, JsonElement model, TokenizerConfig config)
    {
        var (vocabulary, added, size) = ReadVocabulary(model, root);
        var tokens = new string[size];
        foreach (var (token, id) in vocabulary) tokens[id] = token;
        foreach (var (token, id) in added) tokens[id] ??= token;
        for (var i = 0; i < tokens.Length; i++)
        {
            // An id the file leaves out still needs a line; this text never comes out of basic tokenization.
            tokens[i] ??= "[ModelKit unused " + i.ToString(CultureInfo.InvariantCulture) + "]";
        }

        var normalizer = root.TryGetProperty("normalizer", out var n) ? n : default;
        var lowerCase = Flag(normalizer, "lowercase") ?? (Mentions(normalizer, "Lowercase") ? true : (bool?)null) ?? config.DoLowerCase ?? false;
        var stripAccents = Flag(normalizer, "strip_accents") ?? (Mentions(normalizer, "StripAccents") ? true : (bool?)null);
        var splitCjk = Flag(normalizer, "handle_chinese_chars") ?? true;
        var preTokenizer = root.TryGetProperty("pre_tokenizer", out var p) && p.ValueKind == JsonValueKind.Object ? String(p, "type") : null;
        var unknown = String(model, "unk_token") ?? config.UnknownToken ?? "[UNK]";
        var (prefix, suffix, cls, sep) = PostProcessor(root);
        var lookup = Lookup(vocabulary, added);
        var padding = PaddingToken(root) ?? config.PaddingToken ?? "[PAD]";
        var tokenizer = WordPieceTokenizerLoader.Create(
            tokens, lowerCase, stripAccents, splitCjk, basic: preTokenizer is not "WhitespaceSplit", unknown,
            String(model, "continuing_subword_prefix") ?? "##",
            cls ?? config.ClassificationToken ?? "[CLS]", sep ?? config.SeparatorToken ?? "[SEP]", padding, config.MaskToken ?? "[MASK]");
        var pad = PaddingId(root) ?? (lookup.TryGetValue(padding, out var padId) ? padId : 0);
        return new ModelTokenizer(tokenizer, "wordpiece", name, size, prefix, suffix, pad, config.ModelMaxLength);
    }

    private static ModelTokenizer LoadBpe(string name, JsonElement root, JsonElement model, TokenizerConfig config)
    {
        var (vocabulary, added, size) = ReadVocabulary(model, root);
        var merges = new List<string>();
        if (model.TryGetProperty("merges", out var m) && m.ValueKind == JsonValueKind.Array)
        {
            foreach (var merge in m.EnumerateArray())
            {
                merges.Add(merge.ValueKind switch
                {
                    JsonValueKind.String => merge.GetString()!,
                    JsonValueKind.Array when merge.GetArrayLength() == 2 => merge[0].GetString() + " " + merge[1].GetString(),
                    _ => throw new FormatException($"merge {merges.Count + 1} is neither \"a b\" nor [\"a\", \"b\"]."),
                });
            }
        }

        var steps = new List<Func<string, string>>();
        AddNormalizer(steps, root.TryGetProperty("normalizer", out var n) ? n : default);
        var byteLevel = root.TryGetProperty("decoder", out var decoder) && Mentions(decoder, "ByteLevel");
        string? pattern = null;
        if (root.TryGetProperty("pre_tokenizer", out var p) && p.ValueKind == JsonValueKind.Object) AddPreTokenizer(p, steps, ref pattern, ref byteLevel);

        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (token, id) in added) specials[token] = id;
        var tokenizer = BpeTokenizerLoader.Create(
            vocabulary, merges, byteLevel, pattern ?? WholeText, steps.Count == 0 ? null : new StepNormalizer(steps),
            String(model, "unk_token"), String(model, "continuing_subword_prefix"), String(model, "end_of_word_suffix"), specials);

        var (prefix, suffix, _, _) = PostProcessor(root);
        var lookup = Lookup(vocabulary, added);
        var pad = PaddingId(root)
            ?? (config.PaddingToken is { } pt && lookup.TryGetValue(pt, out var padId) ? padId
            : config.EndToken is { } et && lookup.TryGetValue(et, out var eosId) ? eosId
            : 0);
        return new ModelTokenizer(tokenizer, "bpe", name, size, prefix, suffix, pad, config.ModelMaxLength);
    }

    // Hugging Face with no pre-tokenizer treats the whole text as one word.
    private const string WholeText = @"[\s\S]+";

    private static void AddPreTokenizer(JsonElement p, List<Func<string, string>> steps, ref string? pattern, ref bool byteLevel)
    {
        switch (String(p, "type"))
        {
            case "Sequence":
                foreach (var inner in p.GetProperty("pretokenizers").EnumerateArray()) AddPreTokenizer(inner, steps, ref pattern, ref byteLevel);
                break;
            case "ByteLevel":
                byteLevel = true;
                if (Flag(p, "add_prefix_space") == true) steps.Add(static s => s.Length > 0 && !char.IsWhiteSpace(s[0]) ? " " + s : s);
                if (Flag(p, "use_regex") ?? true) pattern ??= BpeTokenizerLoader.Gpt2Pattern;
                break;
            case "Split":
                var behavior = String(p, "behavior") ?? "Isolated";
                if (behavior != "Isolated" || Flag(p, "invert") == true)
                {
                    throw new FormatException($"the Split pre-tokenizer with behavior '{behavior}'{(Flag(p, "invert") == true ? " inverted" : "")} is not supported (only Isolated).");
                }

                if (pattern is not null) throw new FormatException("the pre-tokenizer splits twice; ModelKit supports one Split pattern.");
                var split = p.GetProperty("pattern");
                pattern = String(split, "Regex") ?? Regex.Escape(String(split, "String") ?? throw new FormatException("the Split pre-tokenizer has no pattern."));
                break;
            case "Whitespace":
                pattern ??= @"\w+|[^\w\s]+";
                break;
            case "WhitespaceSplit":
                pattern ??= @"\S+";
                break;
            case "Metaspace":
                var replacement = String(p, "replacement") ?? "\u2581";
                var scheme = String(p, "prepend_scheme") ?? (Flag(p, "add_prefix_space") == false ? "never" : "always");
                steps.Add(s => s.Replace(" ", replacement, StringComparison.Ordinal));
                if (scheme is "always" or "first") steps.Add(s => s.StartsWith(replacement, StringComparison.Ordinal) ? s : replacement + s);
                if (Flag(p, "split") ?? true)
                {
                    var r = Regex.Escape(replacement);
                    pattern ??= $"{r}(?:(?!{r})[\\s\\S])*|(?:(?!{r})[\\s\\S])+";
                }

                break;
            case var other:
                throw new FormatException($"the pre-tokenizer '{other}' is not supported (ModelKit reads ByteLevel, Split, Whitespace, WhitespaceSplit, Metaspace and Sequence).");
        }
    }

    private static void AddNormalizer(List<Func<string, string>> steps, JsonElement n)
    {
        if (n.ValueKind != JsonValueKind.Object) return;
        switch (String(n, "type"))
        {
            case "Sequence":
                foreach (var inner in n.GetProperty("normalizers").EnumerateArray()) AddNormalizer(steps, inner);
                break;
            case "NFC": steps.Add(static s => s.Normalize(NormalizationForm.FormC)); break;
            case "NFD": steps.Add(static s => s.Normalize(NormalizationForm.FormD)); break;
            case "NFKC": steps.Add(static s => s.Normalize(NormalizationForm.FormKC)); break;
            case "NFKD": steps.Add(static s => s.Normalize(NormalizationForm.FormKD)); break;
            case "Lowercase": steps.Add(static s => s.ToLowerInvariant()); break;
            case "Prepend":
                var prepend = String(n, "prepend") ?? "";
                steps.Add(s => s.Length == 0 ? s : prepend + s);
                break;
            case "Replace":
                var content = String(n, "content") ?? "";
                var pattern = n.GetProperty("pattern");
                if (String(pattern, "String") is { } literal)
                {
                    steps.Add(s => s.Replace(literal, content, StringComparison.Ordinal));
                }
                else if (String(pattern, "Regex") is { } regex)
                {
                    var compiled = new Regex(regex, RegexOptions.CultureInvariant, ModelTokenizers.RegexTimeout);
                    steps.Add(s => compiled.Replace(s, content));
                }

                break;
            case "Strip":
                var left = Flag(n, "strip_left") ?? true;
                var right = Flag(n, "strip_right") ?? true;
                steps.Add(s => left && right ? s.Trim() : left ? s.TrimStart() : right ? s.TrimEnd() : s);
                break;
            case "StripAccents":
                steps.Add(static s =>
                {
                    var builder = new StringBuilder(s.Length);
                    foreach (var c in s)
                    {
                        if (CharUnicodeInfo.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) builder.Append(c);
                    }

                    return builder.ToString();
                });
                break;
            case var other:
                throw new FormatException($"the normalizer '{other}' is not supported for BPE models (ModelKit reads NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, StripAccents and Sequence).");
        }
    }

    // model.vocab ({token: id}) and added_tokens ([{id, content}]); the vocabulary size is the highest id plus one.
    private static (List<KeyValuePair<string, int>> Vocabulary, List<KeyValuePair<string, int>> Added, int Size) ReadVocabulary(JsonElement model, JsonElement root)
    {
        if (!model.TryGetProperty("vocab", out var vocab) || vocab.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("model.vocab is missing or not an object of token to id.");
        }

        var size = 0;
        var vocabulary = new List<KeyValuePair<string, int>>();
        foreach (var entry in vocab.EnumerateObject())
        {
            var id = Id(entry.Value, entry.Name);
            vocabulary.Add(new(entry.Name, id));
            size = Math.Max(size, id + 1);
        }

        var added = new List<KeyValuePair<string, int>>();
        if (root.TryGetProperty("added_tokens", out var tokens) && tokens.ValueKind == JsonValueKind.Array)
        {
            foreach (var token in tokens.EnumerateArray())
            {
                var content = String(token, "content") ?? throw new FormatException("an added token has no content.");
                var id = Id(token.TryGetProperty("id", out var i) ? i : default, content);
                added.Add(new(content, id));
                size = Math.Max(size, id + 1);
            }
        }

        if (size == 0) throw new FormatException("the vocabulary is empty.");
        if (size > 10_000_000) throw new FormatException($"the vocabulary's highest id is {size - 1}, beyond any real model's.");
        return (vocabulary, added, size);
    }

    private static int Id(JsonElement value, string token) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var id) && id >= 0
            ? id
            : throw new FormatException($"token '{token}' has the id {(value.ValueKind == JsonValueKind.Undefined ? "(none)" : value.GetRawText())}; ids are whole numbers from 0.");

    private static Dictionary<string, int> Lookup(List<KeyValuePair<string, int>> vocabulary, List<KeyValuePair<string, int>> added)
    {
        var lookup = new Dictionary<string, int>(vocabulary.Count + added.Count, StringComparer.Ordinal);
        foreach (var (token, id) in vocabulary) lookup.TryAdd(token, id);
        foreach (var (token, id) in added) lookup.TryAdd(token, id);
        return lookup;
    }

    // The ids the post-processor puts around one text, and the names of BERT's [CLS]/[SEP] when it says them.
    private static (int[] Prefix, int[] Suffix, string? Cls, string? Sep) PostProcessor(JsonElement root) =>
        root.TryGetProperty("post_processor", out var processor) ? Processor(processor) : ([], [], null, null);

    private static (int[] Prefix, int[] Suffix, string? Cls, string? Sep) Processor(JsonElement processor)
    {
        if (processor.ValueKind != JsonValueKind.Object) return ([], [], null, null);
        switch (String(processor, "type"))
        {
            case "Sequence":
                foreach (var inner in processor.GetProperty("processors").EnumerateArray())
                {
                    var result = Processor(inner);
                    if (result.Prefix.Length + result.Suffix.Length > 0) return result;
                }

                return ([], [], null, null);
            case "BertProcessing" or "RobertaProcessing":
                var (cls, clsId) = NamedId(processor, "cls");
                var (sep, sepId) = NamedId(processor, "sep");
                return ([clsId], [sepId], cls, sep);
            case "TemplateProcessing":
                var prefix = new List<int>();
                var suffix = new List<int>();
                string? first = null, last = null;
                var seenSequence = false;
                var specials = processor.TryGetProperty("special_tokens", out var s) ? s : default;
                foreach (var item in processor.GetProperty("single").EnumerateArray())
                {
                    if (item.TryGetProperty("Sequence", out _))
                    {
                        seenSequence = true;
                        continue;
                    }

                    if (!item.TryGetProperty("SpecialToken", out var special)) continue;
                    var tokenName = String(special, "id") ?? throw new FormatException("a TemplateProcessing special token has no id.");
                    if (specials.ValueKind != JsonValueKind.Object || !specials.TryGetProperty(tokenName, out var entry) || !entry.TryGetProperty("ids", out var ids))
                    {
                        throw new FormatException($"the TemplateProcessing special token '{tokenName}' is not in its special_tokens.");
                    }

                    foreach (var id in ids.EnumerateArray()) (seenSequence ? suffix : prefix).Add(Id(id, tokenName));
                    if (seenSequence) last ??= tokenName;
                    else first ??= tokenName;
                }

                return ([.. prefix], [.. suffix], first, last);
            default:
                return ([], [], null, null); // ByteLevel (offsets only) and others add no tokens to a single text
        }
    }

    // "cls": ["[CLS]", 101]
    private static (string Name, int Id) NamedId(JsonElement processor, string property)
    {
        if (!processor.TryGetProperty(property, out var pair) || pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() != 2 || pair[0].ValueKind != JsonValueKind.String)
        {
            throw new FormatException($"the post-processor's '{property}' is not a [token, id] pair.");
        }

        return (pair[0].GetString()!, Id(pair[1], pair[0].GetString()!));
    }

    private static string? PaddingToken(JsonElement root) =>
        root.TryGetProperty("padding", out var padding) && padding.ValueKind == JsonValueKind.Object ? String(padding, "pad_token") : null;

    private static int? PaddingId(JsonElement root) =>
        root.TryGetProperty("padding", out var padding) && padding.ValueKind == JsonValueKind.Object && padding.TryGetProperty("pad_id", out var id)
        && id.TryGetInt32(out var value) && value >= 0 ? value : null;

    private static string? String(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool? Flag(JsonElement element, string property) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(property, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False
            ? value.GetBoolean() : null;

    // Whether a component (or a Sequence of them) is of this type.
    private static bool Mentions(JsonElement element, string type)
    {
        if (element.ValueKind != JsonValueKind.Object) return false;
        if (String(element, "type") == type) return true;
        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Array) continue;
            foreach (var item in property.Value.EnumerateArray())
            {
                if (Mentions(item, type)) return true;
            }
        }

        return false;
    }

    /// <summary>The normalizer steps of a BPE tokenizer.json, applied in order.</summary>
    private sealed class StepNormalizer(List<Func<string, string>> steps) : Normalizer
    {
        public override string Normalize(string original)
        {
            var text = original;
            foreach (var step in steps) text = step(text);
            return text;
        }

        public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
    }
}
