using ModelKit.Downloads;

namespace ModelKit.Tests.Downloads;

/// <summary>Which of a repository's files a download takes: fnmatch patterns and the default choice.</summary>
public sealed class FileSelectionTests
{
    private static readonly string[] MiniLmLayout =
    [
        ".gitattributes", "1_Pooling/config.json", "README.md", "config.json", "config_sentence_transformers.json", "model.safetensors",
        "modules.json", "onnx/model.onnx", "onnx/model_O1.onnx", "onnx/model_qint8_avx512.onnx", "pytorch_model.bin",
        "sentence_bert_config.json", "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
    ];

    [Theory]
    [InlineData("*.onnx", "onnx/model.onnx", true)] // fnmatch: '*' crosses folders
    [InlineData("*.onnx", "model.onnx", true)]
    [InlineData("onnx/*", "onnx/sub/model.onnx", true)]
    [InlineData("onnx/", "onnx/model.onnx", true)] // a folder: everything under it
    [InlineData("onnx/", "model.onnx", false)]
    [InlineData("model.onnx", "onnx/model.onnx", false)]
    [InlineData("model?.onnx", "model1.onnx", true)]
    [InlineData("model?.onnx", "model.onnx", false)]
    [InlineData("model_[qf]*.onnx", "model_fp16.onnx", true)]
    [InlineData("model_[!qf]*.onnx", "model_fp16.onnx", false)]
    [InlineData("*.json", "config.json", true)]
    [InlineData("*.json", "config.jsonx", false)]
    [InlineData("a+b(c).onnx", "a+b(c).onnx", true)] // regex characters are literal
    [InlineData("a.onnx", "aXonnx", false)]
    public void Matches_FnmatchPatterns(string pattern, string name, bool expected) =>
        Assert.Equal(expected, FileSelection.Matches(pattern, name));

    [Fact]
    public void Select_MiniLmLayoutByDefault_TakesTheOnnxModelItsTokenizerAndPooling()
    {
        var (files, primary) = FileSelection.Select(MiniLmLayout, [], []);

        Assert.Equal("onnx/model.onnx", primary);
        Assert.Equal(
            ["1_Pooling/config.json", "config.json", "config_sentence_transformers.json", "modules.json", "onnx/model.onnx", "sentence_bert_config.json",
             "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt"],
            files);
    }

    [Fact]
    public void Select_TopLevelModelOnnx_IsPreferredAndItsExternalDataComesAlong()
    {
        string[] names = ["model.onnx", "model.onnx.data", "model.onnx_data", "onnx/model.onnx", "other.data", "tokenizer.json", "onnx/tokenizer.json"];

        var (files, primary) = FileSelection.Select(names, [], []);

        Assert.Equal("model.onnx", primary);
        Assert.Equal(["model.onnx", "model.onnx.data", "model.onnx_data", "tokenizer.json"], files);
    }

    [Fact]
    public void Select_OneOnnxFileWithAnyName_IsThePrimary()
    {
        var (files, primary) = FileSelection.Select(["encoder.onnx", "encoder.onnx.data", "vocab.json", "merges.txt", "notes.txt"], [], []);

        Assert.Equal("encoder.onnx", primary);
        Assert.Equal(["encoder.onnx", "encoder.onnx.data", "vocab.json", "merges.txt"], files);
    }

    [Fact]
    public void Select_SeveralOnnxFilesNoneModelOnnx_AsksForAllowPatterns()
    {
        var error = Assert.Throws<InvalidInputException>(() => FileSelection.Select(["onnx/model_fp16.onnx", "onnx/model_int8.onnx", "vocab.txt"], [], []));

        Assert.Contains("2 ONNX files", error.Message, StringComparison.Ordinal);
        Assert.Contains("allow_patterns", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_NoOnnxFile_SaysModelKitServesOnnx()
    {
        var error = Assert.Throws<InvalidInputException>(() => FileSelection.Select(["model.safetensors", "config.json"], [], []));

        Assert.Contains("no ONNX file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_AllowAndIgnorePatterns_TakeExactlyWhatMatches()
    {
        var (files, primary) = FileSelection.Select(MiniLmLayout, ["onnx/model_qint8*.onnx", "*.json", "vocab.txt"], ["*tokenizer*", "1_Pooling/"]);

        Assert.Equal("onnx/model_qint8_avx512.onnx", primary);
        Assert.Equal(
            ["config.json", "config_sentence_transformers.json", "modules.json", "onnx/model_qint8_avx512.onnx", "sentence_bert_config.json", "special_tokens_map.json", "vocab.txt"],
            files);
    }

    [Fact]
    public void Select_AllowPatternsWithoutAnOnnxFile_Throws()
    {
        var error = Assert.Throws<InvalidInputException>(() => FileSelection.Select(MiniLmLayout, ["*.json"], []));

        Assert.Contains("allow patterns", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Select_HostileNames_AreNeverChosenEvenByStar()
    {
        string[] names = ["../../evil.onnx", "/etc/passwd", "a\\b.onnx", "model.onnx", "sub/../x.onnx", "vocab.txt"];

        var (byDefault, _) = FileSelection.Select(names, [], []);
        var (everything, primary) = FileSelection.Select(names, ["*"], []);

        Assert.Equal(["model.onnx", "vocab.txt"], byDefault);
        Assert.Equal(["model.onnx", "vocab.txt"], everything);
        Assert.Equal("model.onnx", primary);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    public void Select_EmptyPattern_ThrowsInvalidInput(string pattern) =>
        Assert.Throws<InvalidInputException>(() => FileSelection.Select(["model.onnx"], [pattern], []));
}
