using ModelKit.Onnx.Text.Generation;
using ModelKit.Text;

namespace ModelKit.Tests.Text.Generation;

public sealed class TokenSamplerTests
{
    private const int Gpt2Vocabulary = 50257;

    [Fact]
    public void Sample_TemperatureZero_PicksTheHighestLogitAndTheLowestIdOnTies()
    {
        var sampler = new TokenSampler(0, 1, 0, 0, 0, seed: 1);
        float[] logits = [0.5f, 3f, -1f, 3f, 2.9f];

        Assert.Equal(1, sampler.Sample(logits));
        Assert.Equal([0.5f, 3f, -1f, 3f, 2.9f], logits); // no temperature applied
    }

    [Fact]
    public void Sample_TemperatureZero_IgnoresTheSeed()
    {
        var logits = RandomLogits(Gpt2Vocabulary, 7);
        var a = new TokenSampler(0, 0.5f, 40, 0, 0, seed: 1);
        var b = new TokenSampler(0, 0.5f, 40, 0, 0, seed: 2);

        Assert.Equal(a.Sample(logits.ToArray()), b.Sample(logits.ToArray()));
        Assert.Equal(Array.IndexOf(logits, logits.Max()), a.Sample(logits.ToArray()));
    }

    [Theory]
    [InlineData(1f, 1f, 0)]
    [InlineData(0.8f, 0.9f, 0)]
    [InlineData(1.2f, 1f, 50)]
    [InlineData(1f, 0.95f, 200)]
    public void Sample_SameSeed_GivesTheSameTokensAndAnotherSeedOthers(float temperature, float topP, int topK)
    {
        var first = Draws(new TokenSampler(temperature, topP, topK, 0, 0, seed: 42), 64);
        var again = Draws(new TokenSampler(temperature, topP, topK, 0, 0, seed: 42), 64);
        var other = Draws(new TokenSampler(temperature, topP, topK, 0, 0, seed: 43), 64);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Sample_TopK_DrawsOnlyAmongTheKMostLikely()
    {
        var logits = RandomLogits(Gpt2Vocabulary, 3);
        var topThree = logits.Select((value, id) => (value, id)).OrderByDescending(p => p.value).Take(3).Select(p => p.id).ToHashSet();
        var sampler = new TokenSampler(2, 1, 3, 0, 0, seed: 5);

        var seen = new HashSet<int>();
        for (var i = 0; i < 300; i++) seen.Add(sampler.Sample(logits.ToArray()));

        Assert.Equal(topThree, seen);
    }

    [Fact]
    public void Sample_TopP_KeepsTheFewestMostLikelyTokensThatReachIt()
    {
        // 0.6, 0.25, 0.15 (and a vanishing tail): top-p 0.8 keeps the first two, renormalized to 0.71 and 0.29.
        var logits = Peaked(Gpt2Vocabulary, (100, 0.6), (200, 0.25), (300, 0.15));
        var sampler = new TokenSampler(1, 0.8f, 0, 0, 0, seed: 9);

        var counts = new Dictionary<int, int>();
        for (var i = 0; i < 4000; i++)
        {
            var id = sampler.Sample(logits.ToArray());
            counts[id] = counts.GetValueOrDefault(id) + 1;
        }

        Assert.Equal([100, 200], counts.Keys.Order());
        Assert.InRange(counts[100] / 4000.0, 0.68, 0.74);
    }

    [Fact]
    public void Sample_TopPWithAWideNucleus_KeepsTheMostLikelyTokensThatReachIt()
    {
        // 1000 equally likely tokens (and a vanishing tail): top-p 0.5 keeps about 500 of them, lowest ids first.
        var logits = new float[Gpt2Vocabulary];
        Array.Fill(logits, -30f);
        Array.Fill(logits, 0f, 0, 1000);
        var sampler = new TokenSampler(1, 0.5f, 0, 0, 0, seed: 11);

        var drawn = new List<int>();
        for (var i = 0; i < 2000; i++) drawn.Add(sampler.Sample(logits.ToArray()));

        Assert.InRange(drawn.Max(), 400, 501);
        Assert.True(drawn.Count(id => id >= 64) > 1500);
    }

    [Theory]
    [InlineData(0.5f)]
    [InlineData(0.9f)]
    [InlineData(0.99f)]
    public void Sample_TopPOnModelLikeLogits_DrawsOnlyFromTheNucleusOfTheSortedProbabilities(float topP)
    {
        var logits = RandomLogits(Gpt2Vocabulary, 17);
        var max = logits.Max();
        var weights = logits.Select(l => Math.Exp(l - max)).ToArray();
        var total = weights.Sum();
        var nucleus = new HashSet<int>();
        double covered = 0;
        foreach (var id in Enumerable.Range(0, logits.Length).OrderByDescending(i => logits[i]).ThenBy(i => i))
        {
            nucleus.Add(id);
            covered += weights[id];
            if (covered >= topP * total) break;
        }

        var sampler = new TokenSampler(1, topP, 0, 0, 0, seed: 19);
        var drawn = new HashSet<int>();
        for (var i = 0; i < 1000; i++) drawn.Add(sampler.Sample(logits.ToArray()));

        Assert.Subset(nucleus, drawn);
        Assert.True(drawn.Count > Math.Min(nucleus.Count, 10) / 2, $"{drawn.Count} of a nucleus of {nucleus.Count} drawn");
    }

    [Fact]
    public void Sample_NoTopKNorTopP_DrawsFromTheWholeSoftmax()
    {
        var logits = Peaked(8, (0, 0.5), (1, 0.3), (2, 0.2));
        var sampler = new TokenSampler(1, 1, 0, 0, 0, seed: 13);

        var counts = new int[8];
        for (var i = 0; i < 5000; i++) counts[sampler.Sample(logits.ToArray())]++;

        Assert.InRange(counts[0] / 5000.0, 0.47, 0.53);
        Assert.InRange(counts[1] / 5000.0, 0.27, 0.33);
        Assert.InRange(counts[2] / 5000.0, 0.17, 0.23);
    }

    [Fact]
    public void Sample_Temperature_DividesTheLogitsInPlace()
    {
        var sampler = new TokenSampler(2, 1, 0, 0, 0, seed: 1);
        float[] logits = [1f, 4f, -2f];

        sampler.Sample(logits);

        Assert.Equal([0.5f, 2f, -1f], logits);
    }

    [Fact]
    public void Accept_Penalties_SubtractFrequencyTimesCountPlusPresence()
    {
        var sampler = new TokenSampler(0, 1, 0, presencePenalty: 0.5f, frequencyPenalty: 1f, seed: 1);
        sampler.Accept(1);
        sampler.Accept(1);
        sampler.Accept(2);
        float[] logits = [3f, 4f, 3.2f];

        var id = sampler.Sample(logits);

        Assert.Equal([3f, 1.5f, 1.7f], logits); // 4 − (1·2 + 0.5), 3.2 − (1·1 + 0.5)
        Assert.Equal(0, id); // the penalties moved the choice off the repeated tokens
    }

    [Fact]
    public void Accept_NegativePresencePenalty_FavoursTokensAlreadyGenerated()
    {
        var sampler = new TokenSampler(0, 1, 0, presencePenalty: -2f, frequencyPenalty: 0, seed: 1);
        sampler.Accept(2);

        Assert.Equal(2, sampler.Sample([3f, 2f, 1.5f]));
    }

    [Fact]
    public void Sample_NaNAndMaskedLogits_NeverPicksThem()
    {
        var sampler = new TokenSampler(1, 0.9f, 0, 0, 0, seed: 3);
        for (var i = 0; i < 200; i++)
        {
            var id = sampler.Sample([float.NaN, float.NegativeInfinity, 1f, 1f, float.NaN]);
            Assert.InRange(id, 2, 3);
        }

        Assert.Equal(0, new TokenSampler(1, 1, 0, 0, 0, 1).Sample([float.NegativeInfinity, float.NegativeInfinity])); // nothing possible: the lowest id
    }

    [Theory]
    [InlineData(-0.1f, 1f, 0f, 0f, "temperature")]
    [InlineData(2.1f, 1f, 0f, 0f, "temperature")]
    [InlineData(float.NaN, 1f, 0f, 0f, "temperature")]
    [InlineData(1f, 0f, 0f, 0f, "topP")]
    [InlineData(1f, 1.5f, 0f, 0f, "topP")]
    [InlineData(1f, 1f, 3f, 0f, "presencePenalty")]
    [InlineData(1f, 1f, 0f, -2.5f, "frequencyPenalty")]
    public void Constructor_ParameterOutOfRange_Throws(float temperature, float topP, float presence, float frequency, string parameter)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new TokenSampler(temperature, topP, 0, presence, frequency, 1));
        Assert.Equal(parameter, error.ParamName);
    }

    [Fact]
    public void ForChoice_RequestWithSeed_GivesEachChoiceItsOwnRepeatableStream()
    {
        var request = new TextGenerationRequest { ModelId = "m", Prompt = "x", Seed = 1234, N = 2, Temperature = 1.5f };

        var choice0 = Draws(TokenSampler.ForChoice(request, 0), 48);
        var choice0Again = Draws(TokenSampler.ForChoice(request, 0), 48);
        var choice1 = Draws(TokenSampler.ForChoice(request, 1), 48);

        Assert.Equal(choice0, choice0Again);
        Assert.NotEqual(choice0, choice1);
        Assert.Equal(TokenSampler.SeedFor(1234, 1), TokenSampler.SeedFor(1234, 1));
        Assert.NotEqual(TokenSampler.SeedFor(null, 0), TokenSampler.SeedFor(null, 0));
    }

    [Fact]
    public void SelectTop_GivesTheHighestFirstWithTiesByLowestId()
    {
        float[] values = [1f, 5f, 3f, 5f, float.NaN, 4f, 2f];
        var top = new TokenSampler.Candidate[4];

        var count = TokenSampler.SelectTop(values, top);

        Assert.Equal(4, count);
        Assert.Equal([1, 3, 5, 2], top.Select(c => c.Id));
        Assert.Equal(2, TokenSampler.SelectTop([7f, 8f], new TokenSampler.Candidate[5]));
    }

    private static List<int> Draws(TokenSampler sampler, int count)
    {
        var logits = RandomLogits(Gpt2Vocabulary, 1);
        var ids = new List<int>(count);
        for (var i = 0; i < count; i++) ids.Add(sampler.Sample(logits.ToArray()));
        return ids;
    }

    // Logits like a language model's: most tokens far below a few dozen likely ones.
    internal static float[] RandomLogits(int size, int seed)
    {
        var random = new Random(seed);
        var logits = new float[size];
        for (var i = 0; i < size; i++) logits[i] = (float)(random.NextDouble() * 10 - 15);
        for (var i = 0; i < 40; i++) logits[random.Next(size)] = (float)(random.NextDouble() * 4);
        return logits;
    }

    // Logits whose softmax gives these probabilities, everything else about e^-30 as likely.
    private static float[] Peaked(int size, params (int Id, double Probability)[] peaks)
    {
        var logits = new float[size];
        Array.Fill(logits, -30f);
        foreach (var (id, probability) in peaks) logits[id] = (float)Math.Log(probability);
        return logits;
    }
}
