using ModelKit.Onnx.Text.Generation;

namespace ModelKit.Tests.Text.Generation;

public sealed class LogProbsTests
{
    [Fact]
    public void Compute_RandomLogits_MatchesLogSoftmaxAndListsTheMostLikelyFirst()
    {
        var logits = TokenSamplerTests.RandomLogits(50257, 21);
        var max = logits.Max();
        var logSum = max + Math.Log(logits.Sum(l => Math.Exp(l - max)));
        var expectedTop = logits.Select((value, id) => (value, id)).OrderByDescending(p => p.value).ThenBy(p => p.id).Take(5).ToArray();
        var ids = new int[5];
        var logProbs = new float[5];

        var (chosen, count) = LogProbs.Compute(logits, 123, ids, logProbs);

        Assert.Equal(5, count);
        Assert.Equal(logits[123] - logSum, chosen, 4);
        Assert.Equal(expectedTop.Select(p => p.id), ids);
        for (var i = 0; i < 5; i++) Assert.Equal(expectedTop[i].value - logSum, logProbs[i], 4);
        Assert.True(logProbs[0] >= logProbs[1] && logProbs[1] >= logProbs[4]);
    }

    [Fact]
    public void Compute_HugeLogits_StaysFinite()
    {
        float[] logits = [1000f, 999f, -1000f];

        var (chosen, _) = LogProbs.Compute(logits, 1, [], []);

        Assert.Equal(-1 - Math.Log(1 + Math.Exp(-1)), chosen, 5);
        Assert.Equal(float.NegativeInfinity, LogProbs.Compute([0f, float.NegativeInfinity], 1, [], []).ChosenLogProb);
    }

    [Fact]
    public void Compute_WithTokenizer_GivesTokenTextBytesAndAlternatives()
    {
        var tokenizer = IncrementalDetokenizerTests.Gpt2("vocab.json");
        var logits = new float[tokenizer.VocabularySize];
        logits[995] = 5; // " world"
        logits[10545] = 4; // " \xe6"
        logits[11] = 3; // ","

        var result = LogProbs.Compute(logits, 11, 2, tokenizer);

        Assert.Equal(",", result.Token);
        Assert.Equal(11, result.TokenId);
        Assert.Equal(","u8.ToArray(), result.Bytes);
        Assert.True(result.LogProb < 0);
        Assert.NotNull(result.TopLogProbs);
        Assert.Equal([995, 10545], result.TopLogProbs.Select(t => t.TokenId));
        Assert.Equal(" world", result.TopLogProbs[0].Token);
        Assert.Equal("bytes:\\x20\\xe6", result.TopLogProbs[1].Token);
        Assert.Equal([0x20, 0xE6], result.TopLogProbs[1].Bytes);
        Assert.Null(LogProbs.Compute(logits, 11, 0, tokenizer).TopLogProbs);
    }

    [Fact]
    public void Compute_MoreThanTwentyAlternatives_Throws()
    {
        var tokenizer = IncrementalDetokenizerTests.Gpt2("vocab.json");

        Assert.Throws<ArgumentOutOfRangeException>(() => LogProbs.Compute(new float[tokenizer.VocabularySize], 0, 21, tokenizer));
        Assert.Throws<ArgumentOutOfRangeException>(() => LogProbs.Compute([1f, 2f], 2, [], []));
    }
}
