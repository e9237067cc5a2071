using System.Text.Json.Nodes;
using Microsoft.ML.Tokenizers;
using ModelKit.Onnx.Text;

namespace ModelKit.Tests.Text;

public sealed class TokenizerTests
{
    private const string Sentence = "A man is eating food.";

    // bert-base-uncased (all-MiniLM-L6-v2's vocabulary): [CLS] a man is eating food . [SEP]
    private static readonly int[] SentenceIds = [101, 1037, 2158, 2003, 5983, 2833, 1012, 102];

    private const string Gpt2Text = "Hello world, this is ModelKit.";

    // GPT-2's ids, as the gpt-3-encoder package's own encode() gives them.
    private static readonly int[] Gpt2Ids = [15496, 995, 11, 428, 318, 9104, 20827, 13];

    private const string Gpt2HardText = " héllo 🙂 world\n\n  tabs\tand  spaces";
    private static readonly int[] Gpt2HardIds = [289, 2634, 18798, 32485, 995, 628, 220, 22524, 197, 392, 220, 9029];

    private static readonly string[] BertTexts =
        [Sentence, "Tokenizers split unbelievably long words into pieces!", "Ünïcödé, CJK 中文 and émojis 🙂 too", "  spaces\tand\nnewlines  "];

    [Fact]
    public void Load_MiniLmVocabTxt_GivesBertUncasedIds()
    {
        var tokenizer = Load(("vocab.txt", TokenizerTestFiles.MiniLmVocab));

        Assert.Equal("wordpiece", tokenizer.Format);
        Assert.Equal("vocab.txt", tokenizer.Source);
        Assert.Equal(30522, tokenizer.VocabularySize);
        Assert.Equal([101], tokenizer.Prefix);
        Assert.Equal([102], tokenizer.Suffix);
        Assert.Equal(0, tokenizer.PadTokenId);
        var encoded = tokenizer.Encode(Sentence, 512);
        Assert.Equal(SentenceIds, encoded.Ids);
        Assert.False(encoded.Truncated);
    }

    [Fact]
    public void Encode_LongerThanMax_CutsTextAndKeepsSpecials()
    {
        var tokenizer = Load(("vocab.txt", TokenizerTestFiles.MiniLmVocab));

        var encoded = tokenizer.Encode(Sentence, 4);

        Assert.Equal([101, 1037, 2158, 102], encoded.Ids);
        Assert.True(encoded.Truncated);
        Assert.Equal(5, encoded.FullLength); // a lower bound: tokenizing stops one token past the limit (the whole text is 8)
        Assert.Equal(8, tokenizer.Encode(Sentence, 8).FullLength);
        Assert.False(tokenizer.Encode(Sentence, 8).Truncated);
    }

    [Fact]
    public void FromIds_IdBeyondVocabulary_Throws()
    {
        var tokenizer = Load(("vocab.txt", TokenizerTestFiles.MiniLmVocab));

        Assert.Equal(SentenceIds, tokenizer.FromIds([1037, 2158, 2003, 5983, 2833, 1012], 512).Ids);
        Assert.Equal(SentenceIds, tokenizer.FromIds(SentenceIds, 512).Ids);
        Assert.Equal([101, 30521, 102], tokenizer.FromIds([30521], 512).Ids);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.FromIds([1037, 30522], 512));
        Assert.Contains("30522", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.FromIds([-1], 512));
    }

    [Theory]
    [InlineData("template")]
    [InlineData("bert")]
    public void Load_WordPieceTokenizerJson_GivesTheIdsOfVocabTxt(string postProcessor)
    {
        var processor = postProcessor == "template"
            ? TokenizerTestFiles.BertTemplate()
            : JsonNode.Parse("""{"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]", 101]}""")!;
        var json = TokenizerTestFiles.Write($"wordpiece-{postProcessor}/tokenizer.json", TokenizerTestFiles.WordPieceTokenizerJson(TokenizerTestFiles.MiniLmVocab, processor));
        var fromVocab = Load(("vocab.txt", TokenizerTestFiles.MiniLmVocab));

        var fromJson = Load(("tokenizer.json", json));

        Assert.Equal("wordpiece", fromJson.Format);
        Assert.Equal("tokenizer.json", fromJson.Source);
        Assert.Equal(30522, fromJson.VocabularySize);
        Assert.Equal([101], fromJson.Prefix);
        Assert.Equal([102], fromJson.Suffix);
        Assert.Equal(SentenceIds, fromJson.Encode(Sentence, 512).Ids);
        foreach (var text in BertTexts) Assert.Equal(fromVocab.Encode(text, 512).Ids, fromJson.Encode(text, 512).Ids);
    }

    [Fact]
    public void Load_WordPieceTokenizerJsonWithoutLowercase_KeepsCase()
    {
        var json = TokenizerTestFiles.Write("wordpiece-cased/tokenizer.json", TokenizerTestFiles.WordPieceTokenizerJson(TokenizerTestFiles.MiniLmVocab, TokenizerTestFiles.BertTemplate(), lowercase: false));

        var tokenizer = Load(("tokenizer.json", json));

        // The uncased vocabulary has no "A": kept upper case, it is [UNK] (100).
        Assert.Equal([101, 100, 2158, 2003, 5983, 2833, 1012, 102], tokenizer.Encode(Sentence, 512).Ids);
    }

    [Fact]
    public void Load_Gpt2VocabJsonAndMerges_GivesGpt2Ids()
    {
        var tokenizer = Load(("vocab.json", TokenizerTestFiles.Gpt2Vocab), ("merges.txt", TokenizerTestFiles.Gpt2Merges));

        Assert.Equal("bpe", tokenizer.Format);
        Assert.Equal(50257, tokenizer.VocabularySize);
        Assert.Empty(tokenizer.Prefix);
        Assert.Empty(tokenizer.Suffix);
        Assert.Equal(50256, tokenizer.PadTokenId); // no pad token: <|endoftext|>
        Assert.Equal(Gpt2Ids, tokenizer.Encode(Gpt2Text, 1024).Ids);
        Assert.Equal(Gpt2HardIds, tokenizer.Encode(Gpt2HardText, 1024).Ids);
        Assert.Equal(Gpt2HardText, tokenizer.Tokenizer.Decode(Gpt2HardIds));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_Gpt2TokenizerJson_GivesGpt2Ids(bool mergesAsPairs)
    {
        var json = TokenizerTestFiles.Write($"gpt2-{mergesAsPairs}/tokenizer.json", TokenizerTestFiles.Gpt2TokenizerJson(mergesAsPairs));

        var tokenizer = Load(("tokenizer.json", json));

        Assert.Equal("bpe", tokenizer.Format);
        Assert.Equal(50257, tokenizer.VocabularySize);
        Assert.Empty(tokenizer.Prefix);
        Assert.Empty(tokenizer.Suffix);
        Assert.Equal(Gpt2Ids, tokenizer.Encode(Gpt2Text, 1024).Ids);
        Assert.Equal(Gpt2HardIds, tokenizer.Encode(Gpt2HardText, 1024).Ids);
    }

    [Fact]
    public void Load_Llama3StyleTokenizerJson_SplitsByItsRegexAndAddsTheTemplatesBos()
    {
        // Llama 3 and Qwen 2 write the split pattern as a Split pre-tokenizer, then ByteLevel without its own regex, and
        // put the beginning token before each text with TemplateProcessing; here over GPT-2's files with <|endoftext|>, and
        // GPT-2's pattern changed as Llama 3 changed it to split numbers into groups of at most three digits.
        var json = JsonNode.Parse(TokenizerTestFiles.Gpt2TokenizerJson(mergesAsPairs: false))!;
        json["normalizer"] = JsonNode.Parse("""{"type": "Sequence", "normalizers": [{"type": "NFC"}]}""");
        json["pre_tokenizer"] = JsonNode.Parse($$"""
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": {{JsonValue.Create(Llama3Pattern).ToJsonString()}}}, "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
            """);
        json["post_processor"] = JsonNode.Parse("""
            {"type": "Sequence", "processors": [
              {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
              {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
               "pair": [], "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [50256], "tokens": ["<|endoftext|>"]}}}]}
            """);
        var path = TokenizerTestFiles.Write("llama3-style/tokenizer.json", json.ToJsonString());

        var tokenizer = Load(("tokenizer.json", path));

        Assert.Equal([50256], tokenizer.Prefix);
        Assert.Empty(tokenizer.Suffix);
        Assert.Equal([50256, .. Gpt2Ids], tokenizer.Encode(Gpt2Text, 1024).Ids);
        Assert.Equal(Gpt2HardIds, tokenizer.Tokenizer.EncodeToIds(Gpt2HardText));
        // GPT-2 gives "2024" as "20" "24" (1238, 1731) and "1000000" as "1" "000000" (16, 10535); in threes they are
        // "202" "4" and "100" "000" "0" (gpt-3-encoder's ids for those pieces).
        Assert.Equal([19004, 19], tokenizer.Tokenizer.EncodeToIds("2024"));
        Assert.Equal([3064, 830, 15], tokenizer.Tokenizer.EncodeToIds("1000000"));
    }

    private const string Llama3Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    [Fact]
    public void Load_MetaspaceBpeTokenizerJson_MergesWithinEachSpaceMarkedWord()
    {
        // Not byte-level: spaces become ▁ (one before the text too), each ▁-led word is merged on its own, and a
        // character outside the vocabulary is the unknown token.
        var path = TokenizerTestFiles.Write("metaspace/tokenizer.json", """
            {"version": "1.0", "added_tokens": [{"id": 0, "content": "<unk>", "special": true}], "normalizer": null,
             "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
             "post_processor": null, "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": true},
             "model": {"type": "BPE", "unk_token": "<unk>", "byte_fallback": false,
                       "vocab": {"<unk>": 0, "▁": 1, "a": 2, "b": 3, "▁a": 4, "▁ab": 5}, "merges": ["▁ a", "▁a b"]}}
            """);

        var tokenizer = Load(("tokenizer.json", path));

        Assert.Equal(6, tokenizer.VocabularySize);
        Assert.Equal([5, 5, 1, 3], tokenizer.Encode("ab ab b", 64).Ids);
        Assert.Equal([5, 0], tokenizer.Encode("abc", 64).Ids);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Load_Gpt2Tiktoken_GivesGpt2Ids(bool openAiForm)
    {
        var tokenizer = Load(("gpt2.tiktoken", openAiForm ? TokenizerTestFiles.Gpt2TiktokenWithRanks : TokenizerTestFiles.Gpt2Tiktoken));

        Assert.Equal("tiktoken", tokenizer.Format);
        Assert.Equal("gpt2.tiktoken", tokenizer.Source);
        Assert.Equal(50257, tokenizer.VocabularySize);
        Assert.Equal(50256, tokenizer.PadTokenId);
        Assert.Equal(Gpt2Ids, tokenizer.Encode(Gpt2Text, 1024).Ids);
        Assert.Equal(Gpt2HardIds, tokenizer.Encode(Gpt2HardText, 1024).Ids);
        Assert.Equal([15496, 50256], tokenizer.Encode("Hello<|endoftext|>", 1024).Ids);
    }

    [Fact]
    public void Load_TiktokenNamedOtherwise_TellsTheEncodingByItsRanks()
    {
        var tokenizer = Load(("tokenizer/ranks.tiktoken", TokenizerTestFiles.Gpt2Tiktoken));

        Assert.Equal("tokenizer/ranks.tiktoken", tokenizer.Source);
        Assert.Equal(Gpt2Ids, tokenizer.Encode(Gpt2Text, 1024).Ids);
    }

    [Fact]
    public void Load_SentencePieceModel_RoundTripsTextThroughIds()
    {
        var model = TokenizerTestFiles.Write("sentencepiece/tokenizer.model", TokenizerTestFiles.SentencePieceModel());
        var pieces = TokenizerTestFiles.SentencePieces;

        var tokenizer = Load(("tokenizer.model", model));

        Assert.Equal("sentencepiece", tokenizer.Format);
        Assert.Equal(pieces.Count, tokenizer.VocabularySize);
        Assert.Equal([1], tokenizer.Prefix); // <s>, as Llama adds it
        Assert.Empty(tokenizer.Suffix);
        int[] hello = [IndexOf(pieces, "\u2581hello"), IndexOf(pieces, "\u2581world")];
        Assert.Equal([1, .. hello], tokenizer.Encode("hello world", 64).Ids);
        Assert.Equal("hello world", tokenizer.Tokenizer.Decode(hello));

        // "é" is no piece: it falls back to its UTF-8 bytes (<0xC3> <0xA9>, ids 3 + byte) and decodes back.
        var ids = tokenizer.Tokenizer.EncodeToIds("hello é");
        Assert.Equal([IndexOf(pieces, "\u2581hello"), IndexOf(pieces, "\u2581"), 3 + 0xC3, 3 + 0xA9], ids);
        Assert.Equal("hello é", tokenizer.Tokenizer.Decode(ids));
    }

    [Fact]
    public void Load_SentencePieceWithAddBosFalse_AddsNoPrefix()
    {
        var model = TokenizerTestFiles.Write("sentencepiece-nobos/tokenizer.model", TokenizerTestFiles.SentencePieceModel());
        var config = TokenizerTestFiles.Write("sentencepiece-nobos/tokenizer_config.json", """{"add_bos_token": false, "add_eos_token": true}""");

        var tokenizer = Load(("tokenizer.model", model), ("tokenizer_config.json", config));

        Assert.Empty(tokenizer.Prefix);
        Assert.Equal([2], tokenizer.Suffix);
    }

    [Fact]
    public void Load_SeveralFormats_PrefersTokenizerJsonThenModelThenTiktokenThenBpeThenVocabTxt()
    {
        var json = TokenizerTestFiles.Write("priority/tokenizer.json", TokenizerTestFiles.WordPieceTokenizerJson(TokenizerTestFiles.MiniLmVocab, TokenizerTestFiles.BertTemplate()));
        var model = TokenizerTestFiles.Write("priority/tokenizer.model", TokenizerTestFiles.SentencePieceModel());
        var files = new Dictionary<string, string>
        {
            ["vocab.txt"] = TokenizerTestFiles.MiniLmVocab,
            ["tokenizer/vocab.json"] = TokenizerTestFiles.Gpt2Vocab,
            ["tokenizer/merges.txt"] = TokenizerTestFiles.Gpt2Merges,
            ["gpt2.tiktoken"] = TokenizerTestFiles.Gpt2Tiktoken,
            ["tokenizer/tokenizer.model"] = model,
            ["tokenizer/tokenizer.json"] = json,
        };

        Assert.Equal("tokenizer/tokenizer.json", ModelTokenizers.Load(files)!.Source);
        files.Remove("tokenizer/tokenizer.json");
        Assert.Equal("tokenizer/tokenizer.model", ModelTokenizers.Load(files)!.Source);
        files.Remove("tokenizer/tokenizer.model");
        Assert.Equal("gpt2.tiktoken", ModelTokenizers.Load(files)!.Source);
        files.Remove("gpt2.tiktoken");
        Assert.Equal("tokenizer/vocab.json+tokenizer/merges.txt", ModelTokenizers.Load(files)!.Source);
        files.Remove("tokenizer/merges.txt");
        Assert.Equal("vocab.txt", ModelTokenizers.Load(files)!.Source);
        files.Remove("vocab.txt");
        Assert.Null(ModelTokenizers.Load(files));
    }

    [Fact]
    public void Load_DoLowerCaseFalse_KeepsCase()
    {
        var config = TokenizerTestFiles.Write("cased/tokenizer_config.json", """{"do_lower_case": false, "model_max_length": 128}""");

        var tokenizer = Load(("vocab.txt", TokenizerTestFiles.MiniLmVocab), ("tokenizer_config.json", config));

        Assert.Equal([101, 100, 2158, 2003, 5983, 2833, 1012, 102], tokenizer.Encode(Sentence, 512).Ids);
        Assert.Equal(128, tokenizer.ModelMaxLength);
    }

    [Fact]
    public void Load_ModelMaxLength_ReadFromTokenizerConfigAndHugeMeansUnset()
    {
        var set = TokenizerTestFiles.Write("max-set/tokenizer_config.json", """{"model_max_length": 512}""");
        var unset = TokenizerTestFiles.Write("max-unset/tokenizer_config.json", """{"model_max_length": 1000000000000000019884624838656}""");

        Assert.Equal(512, Load(("vocab.txt", TokenizerTestFiles.MiniLmVocab), ("tokenizer_config.json", set)).ModelMaxLength);
        Assert.Null(Load(("vocab.txt", TokenizerTestFiles.MiniLmVocab), ("tokenizer_config.json", unset)).ModelMaxLength);
        Assert.Null(Load(("vocab.txt", TokenizerTestFiles.MiniLmVocab)).ModelMaxLength);
    }

    [Fact]
    public void Load_UnigramTokenizerJson_FailsNamingTheType()
    {
        var json = TokenizerTestFiles.Write("unigram/tokenizer.json", """
            {"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": {"type": "Metaspace", "replacement": "▁"},
             "post_processor": null, "decoder": null, "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["▁a", -1.0]]}}
            """);

        var error = Assert.Throws<InvalidModelConfigException>(() => Load(("tokenizer.json", json)));

        Assert.Equal(ModelKitErrorCodes.InvalidModelConfig, error.ErrorCode);
        Assert.Contains("'Unigram'", error.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer.json", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath(), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": ")]
    [InlineData("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": \"x\"}, \"merges\": []}}")]
    [InlineData("tokenizer.model", "not a protobuf message at all")]
    [InlineData("cl100k_base.tiktoken", "not base64 and rank\n")]
    [InlineData("vocab.txt", "")]
    public void Load_CorruptFile_FailsNamingTheUploadedFileNotItsPath(string name, string content)
    {
        var path = TokenizerTestFiles.Write($"corrupt/{name}", content);

        var error = Assert.Throws<InvalidModelConfigException>(() => Load(("tokenizer/" + name, path)));

        Assert.StartsWith("The model's tokenizer files could not be read: tokenizer/" + name, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath(), error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("corrupt/", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_FailsWithoutItsPath()
    {
        var missing = Path.Combine(Path.GetTempPath(), "modelkit-tests", "no-such-dir", "tokenizer.json");

        var error = Assert.Throws<InvalidModelConfigException>(() => Load(("tokenizer.json", missing)));

        Assert.Equal("The model's tokenizer files could not be read: tokenizer.json: the file could not be opened", error.Message);
    }

    [Fact]
    public void TokenizerJson_BacktrackingRegex_TimesOutInsteadOfHoldingACore()
    {
        // A Replace normalizer whose pattern backtracks exponentially on "aaaa…!": the match gives up after its timeout.
        var path = TokenizerTestFiles.Write("redos/tokenizer.json", """
            {"model": {"type": "BPE", "vocab": {"a": 0, "!": 1, "[UNK]": 2}, "merges": [], "unk_token": "[UNK]"},
             "normalizer": {"type": "Replace", "pattern": {"Regex": "^(\\w+\\s?)*$"}, "content": "x"},
             "pre_tokenizer": {"type": "Whitespace"}}
            """);
        var tokenizer = Load(("tokenizer.json", path));
        Assert.Equal(2, tokenizer.Encode("a!", 16).Ids.Length);

        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.Throws<System.Text.RegularExpressions.RegexMatchTimeoutException>(() => tokenizer.Encode(new string('a', 40) + "!", 16));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"took {watch.Elapsed}");
    }

    private static ModelTokenizer Load(params (string Name, string Path)[] files)
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, path) in files) byName[name] = path;
        return ModelTokenizers.Load(byName) ?? throw new InvalidOperationException("No tokenizer was found.");
    }

    private static int IndexOf(IReadOnlyList<string> pieces, string piece)
    {
        for (var i = 0; i < pieces.Count; i++)
        {
            if (pieces[i] == piece) return i;
        }

        throw new InvalidOperationException($"'{piece}' is not a piece.");
    }
}
