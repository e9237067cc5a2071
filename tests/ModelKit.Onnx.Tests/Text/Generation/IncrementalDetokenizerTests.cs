using System.Text;
using ModelKit.Onnx.Text;
using ModelKit.Onnx.Text.Generation;

namespace ModelKit.Tests.Text.Generation;

public sealed class IncrementalDetokenizerTests
{
    // é is two bytes, 日本語 three each, 🙂 four: GPT-2 splits 日, 本, 語 and 🙂's neighbours across tokens.
    private const string Text = "Café au lait, 日本語のテキスト 🙂👍🏽 and naïve \"quotes\"\n\tend.";

    public static TheoryData<string> Gpt2Forms => ["vocab.json", "tiktoken", "tokenizer.json"];

    [Theory]
    [MemberData(nameof(Gpt2Forms))]
    public void Push_Gpt2TokensOfMultiByteText_ConcatenatesToTheTextWithoutReplacementCharacters(string form)
    {
        var tokenizer = Gpt2(form);
        var ids = tokenizer.Tokenizer.EncodeToIds(Text);
        Assert.Contains(ids, id => !System.Text.Unicode.Utf8.IsValid(tokenizer.TokenBytes(id))); // some tokens really end inside a character
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        var text = new StringBuilder();
        foreach (var id in ids)
        {
            var delta = detokenizer.Push(id);
            Assert.DoesNotContain('\uFFFD', delta);
            text.Append(delta);
        }

        text.Append(detokenizer.Flush());
        Assert.Equal(Text, text.ToString());
        Assert.Equal(tokenizer.Tokenizer.Decode(ids), text.ToString());
    }

    [Theory]
    [MemberData(nameof(Gpt2Forms))]
    public void Push_SplitCharacter_HoldsItsBytesUntilWhole(string form)
    {
        var tokenizer = Gpt2(form);
        var ids = tokenizer.Tokenizer.EncodeToIds(" 日");
        Assert.Equal([10545, 245, 98], ids); // " \xe6", "\x97", "\xa5"
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        Assert.Equal(" ", detokenizer.Push(ids[0]));
        Assert.Equal("", detokenizer.Push(ids[1]));
        Assert.Equal("日", detokenizer.Push(ids[2]));
        Assert.Equal("", detokenizer.Flush());
    }

    [Theory]
    [MemberData(nameof(Gpt2Forms))]
    public void Push_EndOfTextToken_AddsNoText(string form)
    {
        var tokenizer = Gpt2(form);
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        Assert.True(tokenizer.IsSpecialToken(50256));
        Assert.Equal("Hi", detokenizer.Push(17250));
        Assert.Equal("", detokenizer.Push(50256));
        Assert.Equal("!", detokenizer.Push(0));
    }

    [Fact]
    public void Flush_CharacterNeverCompleted_GivesOneReplacementCharacter()
    {
        var tokenizer = Gpt2("vocab.json");
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        Assert.Equal(" ", detokenizer.Push(10545)); // " \xe6": the first of 日's three bytes waits
        Assert.Equal("\uFFFD", detokenizer.Flush());
    }

    [Fact]
    public void Push_IdOutsideVocabulary_Throws()
    {
        var detokenizer = new IncrementalDetokenizer(Gpt2("vocab.json"));

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => detokenizer.Push(50257));
        Assert.Contains("50257", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Gpt2Forms))]
    public void TokenBytes_Gpt2_GivesTheRawBytesAndOpenAiText(string form)
    {
        var tokenizer = Gpt2(form);

        Assert.Equal(" world"u8.ToArray(), tokenizer.TokenBytes(995).ToArray());
        Assert.Equal(" world", tokenizer.TokenText(995));
        Assert.Equal([0x20, 0xE6], tokenizer.TokenBytes(10545).ToArray());
        Assert.Equal("bytes:\\x20\\xe6", tokenizer.TokenText(10545));
        Assert.Equal("<|endoftext|>", tokenizer.TokenText(50256));
        Assert.False(tokenizer.IsSpecialToken(995));
    }

    [Fact]
    public void Push_SentencePieceByteFallback_JoinsBytePiecesAndKeepsSpaces()
    {
        var model = TokenizerTestFiles.Write("detokenizer-sentencepiece/tokenizer.model", TokenizerTestFiles.SentencePieceModel());
        var tokenizer = Load(("tokenizer.model", model));
        var ids = tokenizer.Encode("hello wörld", 64).Ids; // <s> ▁hello ▁w <0xC3> <0xB6> r l d
        var detokenizer = new IncrementalDetokenizer(tokenizer);

        var deltas = new List<string>();
        foreach (var id in ids) deltas.Add(detokenizer.Push(id));

        Assert.True(tokenizer.IsSpecialToken(ids[0]));
        Assert.Equal("", deltas[0]);
        Assert.Equal(" hello", deltas[1]); // the dummy prefix's space stays: a continuation keeps the space before it
        Assert.Contains("", deltas);
        Assert.Equal(" hello wörld", string.Concat(deltas) + detokenizer.Flush());
        Assert.Equal("hello wörld", tokenizer.Tokenizer.Decode(ids));
    }

    internal static ModelTokenizer Gpt2(string form) => form switch
    {
        "vocab.json" => Load(("vocab.json", TokenizerTestFiles.Gpt2Vocab), ("merges.txt", TokenizerTestFiles.Gpt2Merges)),
        "tiktoken" => Load(("gpt2.tiktoken", TokenizerTestFiles.Gpt2Tiktoken)),
        "tokenizer.json" => Load(("tokenizer.json", TokenizerTestFiles.Write("detokenizer-gpt2/tokenizer.json", TokenizerTestFiles.Gpt2TokenizerJson(mergesAsPairs: false)))),
        _ => throw new ArgumentOutOfRangeException(nameof(form), form, "vocab.json, tiktoken or tokenizer.json"),
    };

    private static ModelTokenizer Load(params (string Name, string Path)[] files)
    {
        var byName = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, path) in files) byName[name] = path;
        return ModelTokenizers.Load(byName) ?? throw new InvalidOperationException("No tokenizer was found.");
    }
}
