using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace ModelKit.Onnx.Text;

/// <summary>
/// Byte-pair encoding: GPT-2 style <c>vocab.json</c> + <c>merges.txt</c> (byte-level), and the BPE models of
/// <c>tokenizer.json</c> (<see cref="HuggingFaceTokenizerJson"/>), both through Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>.
/// </summary>
internal static class BpeTokenizerLoader
{
    /// <summary>GPT-2's pre-tokenizer pattern (also Hugging Face's ByteLevel pre-tokenizer with <c>use_regex</c>).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    // GPT-2 adds no special tokens around a text; its one special token ends a document and doubles as padding.
    public static ModelTokenizer LoadGpt2((string Name, string Path) vocabFile, (string Name, string Path) mergesFile, TokenizerConfig config)
    {
        var vocabulary = ReadVocabulary(vocabFile.Path);
        var merges = new List<string>();
        foreach (var line in File.ReadLines(mergesFile.Path))
        {
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal)) continue;
            merges.Add(line);
        }

        var size = 0;
        foreach (var (_, id) in vocabulary) size = Math.Max(size, id + 1);
        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        AddSpecial(specials, vocabulary, config.BeginningToken ?? "<|endoftext|>");
        AddSpecial(specials, vocabulary, config.EndToken ?? "<|endoftext|>");
        AddSpecial(specials, vocabulary, config.UnknownToken);
        AddSpecial(specials, vocabulary, config.PaddingToken);

        var tokenizer = Create(vocabulary, merges, byteLevel: true, Gpt2Pattern, normalizer: null, unknown: null, subwordPrefix: null, wordSuffix: null, specials);
        var bos = Id(vocabulary, config.BeginningToken ?? "<|endoftext|>");
        var eos = Id(vocabulary, config.EndToken ?? "<|endoftext|>");
        var pad = Id(vocabulary, config.PaddingToken) ?? eos ?? 0;
        return new ModelTokenizer(
            tokenizer, "bpe", vocabFile.Name + "+" + mergesFile.Name, size,
            config.AddBeginningToken == true && bos is { } b ? [b] : [],
            config.AddEndToken == true && eos is { } e ? [e] : [],
            pad, config.ModelMaxLength);
    }

    /// <summary>A BPE tokenizer that merges within each match of <paramref name="pattern"/>; byte-level ones map text to GPT-2's byte alphabet (a space becomes <c>Ġ</c>) before merging.</summary>
    public static BpeTokenizer Create(
        List<KeyValuePair<string, int>> vocabulary, List<string> merges, bool byteLevel, string pattern, Normalizer? normalizer,
        string? unknown, string? subwordPrefix, string? wordSuffix, Dictionary<string, int> specials)
    {
        if (vocabulary.Count == 0) throw new FormatException("the vocabulary is empty.");
        var options = new BpeOptions(vocabulary)
        {
            Merges = merges,
            ByteLevel = byteLevel,
            Normalizer = normalizer,
            PreTokenizer = new RegexPreTokenizer(new Regex(pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant, ModelTokenizers.RegexTimeout), specials.Count > 0 ? specials : null),
            UnknownToken = unknown,
            ContinuingSubwordPrefix = subwordPrefix,
            EndOfWordSuffix = wordSuffix,
            SpecialTokens = specials.Count > 0 ? specials : null,
        };
        return BpeTokenizer.Create(options);
    }

    // vocab.json: {"token": id, …}.
    private static List<KeyValuePair<string, int>> ReadVocabulary(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw new FormatException("vocab.json is not a JSON object of token to id.");
        var vocabulary = new List<KeyValuePair<string, int>>();
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Number || !entry.Value.TryGetInt32(out var id) || id < 0)
            {
                throw new FormatException($"vocab.json gives token '{entry.Name}' the id {entry.Value.GetRawText()}; ids are whole numbers from 0.");
            }

            vocabulary.Add(new(entry.Name, id));
        }

        return vocabulary;
    }

    private static int? Id(List<KeyValuePair<string, int>> vocabulary, string? token)
    {
        if (token is null) return null;
        foreach (var (key, id) in vocabulary)
        {
            if (key == token) return id;
        }

        return null;
    }

    private static void AddSpecial(Dictionary<string, int> specials, List<KeyValuePair<string, int>> vocabulary, string? token)
    {
        if (token is not null && Id(vocabulary, token) is { } id) specials[token] = id;
    }
}
