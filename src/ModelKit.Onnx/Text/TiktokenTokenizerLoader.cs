using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace ModelKit.Onnx.Text;

/// <summary>
/// A tiktoken ranks file (<c>gpt2.tiktoken</c>, <c>cl100k_base.tiktoken</c> …: one base64 token and its rank a line).
/// The file holds no pre-tokenizer pattern nor special tokens: they come from the encoding, named by the file
/// (<c>cl100k_base.tiktoken</c>) or, when the name is not one of OpenAI's encodings, told by the number of ranks.
/// </summary>
internal static class TiktokenTokenizerLoader
{
    private const string Cl100kPattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private const string O200kPattern =
        @"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?" +
        @"|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    // OpenAI's encodings (tiktoken's openai_public.py): the pattern, the special tokens and the number of ranks.
    private static readonly TiktokenEncoding[] Encodings =
    [
        new TiktokenEncoding("gpt2", BpeTokenizerLoader.Gpt2Pattern, 50256, [new("<|endoftext|>", 50256)]),
        new TiktokenEncoding("r50k_base", BpeTokenizerLoader.Gpt2Pattern, 50256, [new("<|endoftext|>", 50256)]),
        new TiktokenEncoding("p50k_base", BpeTokenizerLoader.Gpt2Pattern, 50280, [new("<|endoftext|>", 50256)]),
        new TiktokenEncoding("p50k_edit", BpeTokenizerLoader.Gpt2Pattern, 50280,
            [new("<|endoftext|>", 50256), new("<|fim_prefix|>", 50281), new("<|fim_middle|>", 50282), new("<|fim_suffix|>", 50283)]),
        new TiktokenEncoding("cl100k_base", Cl100kPattern, 100256,
            [new("<|endoftext|>", 100257), new("<|fim_prefix|>", 100258), new("<|fim_middle|>", 100259), new("<|fim_suffix|>", 100260), new("<|endofprompt|>", 100276)]),
        new TiktokenEncoding("o200k_base", O200kPattern, 199998, [new("<|endoftext|>", 199999), new("<|endofprompt|>", 200018)]),
    ];

    public static ModelTokenizer Load((string Name, string Path) file, TokenizerConfig config)
    {
        var bytes = File.ReadAllBytes(file.Path);
        var (ranks, maxRank) = CountRanks(bytes);
        var stem = Path.GetFileNameWithoutExtension(file.Name);
        var encoding = Array.Find(Encodings, e => string.Equals(e.Name, stem, StringComparison.OrdinalIgnoreCase))
            ?? (ranks == 50256 ? Encodings[0] : Array.Find(Encodings, e => e.Ranks == ranks && e.Name != "p50k_edit"))
            ?? throw new FormatException(
                $"'{stem}' is not a tiktoken encoding ModelKit knows (gpt2, r50k_base, p50k_base, p50k_edit, cl100k_base, o200k_base), and its {ranks} ranks match none of them; rename the file after its encoding.");

        var specials = new Dictionary<string, int>(StringComparer.Ordinal);
        var size = maxRank + 1;
        foreach (var (token, id) in encoding.Specials)
        {
            specials[token] = id;
            size = Math.Max(size, id + 1);
        }

        using var stream = new MemoryStream(bytes, writable: false);
        var preTokenizer = new RegexPreTokenizer(new Regex(encoding.Pattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), specials);
        var tokenizer = TiktokenTokenizer.Create(stream, preTokenizer, normalizer: null, specials);
        int? bos = config.BeginningToken is { } b && specials.TryGetValue(b, out var bi) ? bi : null;
        int? eos = specials.TryGetValue(config.EndToken ?? "<|endoftext|>", out var ei) ? ei : null;
        var pad = config.PaddingToken is { } p && specials.TryGetValue(p, out var pi) ? pi : eos ?? 0;
        return new ModelTokenizer(
            tokenizer, "tiktoken", file.Name, size,
            config.AddBeginningToken == true && bos is { } bb ? [bb] : [],
            config.AddEndToken == true && eos is { } ee ? [ee] : [],
            pad, config.ModelMaxLength);
    }

    // Lines "base64 rank" (OpenAI's files), or Microsoft.ML.Tokenizers' compact form: a "Capacity: n" line, then one
    // base64 token a line whose rank is its index. How many ranks, and the highest.
    private static (int Count, int MaxRank) CountRanks(byte[] bytes)
    {
        var count = 0;
        var max = -1;
        var start = 0;
        for (var i = 0; i <= bytes.Length; i++)
        {
            if (i < bytes.Length && bytes[i] != (byte)'\n') continue;
            var line = bytes.AsSpan(start, i - start).TrimEnd((byte)'\r');
            start = i + 1;
            if (line.IsEmpty || count == 0 && line.StartsWith("Capacity:"u8)) continue;
            var space = line.LastIndexOf((byte)' ');
            var rank = count;
            if (space == 0 || space > 0 && (!int.TryParse(line[(space + 1)..], out rank) || rank < 0))
            {
                throw new FormatException($"line {count + 1} is not a base64 token and its rank.");
            }

            count++;
            max = Math.Max(max, rank);
        }

        if (count == 0) throw new FormatException("the file holds no ranks.");
        return (count, max);
    }

    private sealed record TiktokenEncoding(string Name, string Pattern, int Ranks, KeyValuePair<string, int>[] Specials);
}
