using Microsoft.ML.Tokenizers;

namespace ModelKit.ModelGenerator;

/// <summary>
/// Sets a one-layer GPT-2's weights by hand so that it is an n-gram model of a text: greedy decoding continues any
/// passage of the text with the rest of it, then the end-of-text token. Nothing is trained; every weight is placed.
/// </summary>
/// <remarks>
/// <para>The residual stream is split into subspaces. A token of the text has a code: ± one unit vector of
/// <c>ceil(tokens / 2)</c> dimensions (two tokens share a dimension with opposite signs), written by <c>wte</c> into the
/// "current" subspace; tokens not in the text embed as zero. <c>wpe</c> writes, for frequencies ω = 2π/2, 2π/4, …, the
/// position's (cos ωp, sin ωp, −cos ωp, −sin ωp): its norm is the same at every position and its mean zero, so the
/// layer norms, given weights equal to their input's constant standard deviation, leave the stream as it is.</para>
/// <para>Head k (k = 1 … heads) looks k tokens back: its query is the position rotated by −kω and its key the
/// position, so the score of key j is A·Σ cos(ω(p − k − j)), highest at j = p − k by a margin of 2 at least; its value
/// is the current subspace, which the projection writes into subspace k. After attention the stream holds the codes
/// of the last <c>heads + 1</c> tokens.</para>
/// <para>The MLP has one unit per context (the last m tokens, m = 1 … heads + 1) seen in the text: the unit sums
/// its tokens' codes' matches (each 1) and fires, through GELU, only when all m match. It adds 10·3^m times the code of
/// the token that follows the context in the text (the most frequent one when the context recurs with different
/// continuations) to the current subspace, which the tied head reads as logits; the gain makes the chosen token's
/// logit about 20 and its probability over 0.999, so sampling recites too. Each position of the text has units of
/// its contexts up to the shortest one that determines its next token; that one outweighs all the shorter ones
/// together (3^m &gt; Σ 3^i for i &lt; m), so greedy decoding follows the text. One more unit always fires and adds
/// 10 times the code of the text's first token: a prompt the text never continues starts the recitation.</para>
/// </remarks>
internal static class RecitingDecoder
{
    private const float PositionScore = 15f; // times the margin of 2: the target key outweighs the rest by e^30
    private const float UnitGain = 20f;      // a unit's input: +10 when all its tokens match, −10 or less when one misses
    private const float OutputGain = 10f;    // the weakest unit's output (30) outweighs the rest of the stream (norm ≈ 5), so logits reach ≈ 20
    private const int MaxContext = 8;

    /// <summary>The text's GPT-2 ids, the end-of-text token appended, and a decoder that recites it.</summary>
    public static (int[] Ids, Gpt2Weights Weights) Create(string text, int maxPositions = 1024)
    {
        ArgumentException.ThrowIfNullOrEmpty(text);
        var tokenizer = TiktokenTokenizer.CreateForModel("gpt2");
        var ids = new List<int>(tokenizer.EncodeToIds(text)) { Gpt2Vocabulary.EndOfTextId };
        if (ids.Count > maxPositions) throw new ArgumentException($"The text is {ids.Count - 1} tokens; the decoder takes {maxPositions - 1} at most.", nameof(text));

        // Every token's code: dimension index / 2 of a subspace, sign + for even indices, − for odd ones.
        var index = new Dictionary<int, int>();
        foreach (var id in ids) index.TryAdd(id, index.Count);
        var codeSize = (index.Count + 1) / 2;

        // The shortest context (the last m tokens) that determines each next token within the text.
        var shortest = new int[ids.Count - 1];
        for (var t = 0; t < shortest.Length; t++)
        {
            var m = 1;
            while (m <= t && !Determines(ids, t, m)) m++;
            if (m > MaxContext)
            {
                throw new ArgumentException($"The text repeats a passage of {m - 1} tokens with different continuations (before token {t + 1}); reciting it needs a context of at most {MaxContext} tokens.", nameof(text));
            }

            shortest[t] = m;
        }

        var lookBack = Math.Max(1, shortest.Max() - 1);
        var frequencies = 1;
        while (Margin(frequencies, maxPositions) < 1.99f) frequencies++;

        // Units: each position's contexts of 1 … its shortest, each context once, predicting its most frequent next token.
        var units = new List<(int[] Context, int Next)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var t = 0; t < shortest.Length; t++)
        {
            for (var m = 1; m <= shortest[t]; m++)
            {
                var context = ids.GetRange(t - m + 1, m).ToArray();
                if (seen.Add(string.Join(',', context))) units.Add((context, MostFrequentNext(ids, context)));
            }
        }

        // Layout: current tokens, then look-back subspaces 1 … lookBack, then the positions.
        var positionStart = (lookBack + 1) * codeSize;
        var needed = positionStart + (4 * frequencies);
        var headSize = Math.Max(codeSize, 2 * frequencies);
        var hidden = RoundUp(Math.Max(needed, lookBack * headSize), 64 * lookBack);
        var intermediate = RoundUp(Math.Max(4 * hidden, units.Count + 1), 256);
        var spec = new DecoderSpec
        {
            Layers = 1, Hidden = hidden, Heads = lookBack, Intermediate = intermediate, Vocabulary = Gpt2Vocabulary.EndOfTextId + 1, MaxPositions = maxPositions,
        };
        headSize = spec.HeadSize;
        var w = new Gpt2Weights(spec);
        var layer = w.Layers[0];

        int Dim(int subspace, int token) => (subspace * codeSize) + (index[token] / 2);
        float Sign(int token) => index[token] % 2 == 0 ? 1f : -1f;

        foreach (var (token, _) in index) w.TokenEmbeddings[((long)token * hidden) + Dim(0, token)] = Sign(token);
        var omegas = new double[frequencies];
        for (var f = 0; f < frequencies; f++) omegas[f] = 2 * Math.PI / Math.Pow(2, f + 1);
        for (var p = 0; p < maxPositions; p++)
        {
            for (var f = 0; f < frequencies; f++)
            {
                var (sin, cos) = Math.SinCos(omegas[f] * p);
                var row = (p * hidden) + positionStart + (4 * f);
                (w.PositionEmbeddings[row], w.PositionEmbeddings[row + 1], w.PositionEmbeddings[row + 2], w.PositionEmbeddings[row + 3]) =
                    ((float)cos, (float)sin, (float)-cos, (float)-sin);
            }
        }

        // The norms undo their own scaling: a text token's stream has norm² 1 + 2F before attention, 1 + 2F + lookBack after.
        Array.Fill(layer.AttentionNormWeight, NormScale(1 + (2 * frequencies), hidden));
        Array.Fill(layer.FeedForwardNormWeight, NormScale(1 + (2 * frequencies) + lookBack, hidden));

        var scoreScale = PositionScore * MathF.Sqrt(headSize); // the graph divides scores by √head_size
        for (var head = 0; head < lookBack; head++)
        {
            var k = head + 1;
            for (var f = 0; f < frequencies; f++)
            {
                var (cos, sin, negCos, negSin) = (positionStart + (4 * f), positionStart + (4 * f) + 1, positionStart + (4 * f) + 2, positionStart + (4 * f) + 3);
                var (rotSin, rotCos) = Math.SinCos(omegas[f] * k);
                var (q0, q1) = ((head * headSize) + (2 * f), (head * headSize) + (2 * f) + 1);
                var (k0, k1) = (hidden + q0, hidden + q1);

                // Each of cos ωp and sin ωp is read as the half-difference of its two mirrored dimensions, which cancels the norm's mean.
                // query = A·(cos ω(p−k), sin ω(p−k)) = A·(cos·cos ωk + sin·sin ωk, sin·cos ωk − cos·sin ωk).
                AddRead(layer.AttentionWeight, 3 * hidden, cos, negCos, q0, (float)(scoreScale * rotCos / 2));
                AddRead(layer.AttentionWeight, 3 * hidden, sin, negSin, q0, (float)(scoreScale * rotSin / 2));
                AddRead(layer.AttentionWeight, 3 * hidden, sin, negSin, q1, (float)(scoreScale * rotCos / 2));
                AddRead(layer.AttentionWeight, 3 * hidden, cos, negCos, q1, (float)(-scoreScale * rotSin / 2));
                AddRead(layer.AttentionWeight, 3 * hidden, cos, negCos, k0, 0.5f);
                AddRead(layer.AttentionWeight, 3 * hidden, sin, negSin, k1, 0.5f);
            }

            for (var i = 0; i < codeSize; i++)
            {
                layer.AttentionWeight[(i * 3 * hidden) + (2 * hidden) + (head * headSize) + i] = 1f;
                layer.AttentionProjectionWeight[(((head * headSize) + i) * hidden) + (k * codeSize) + i] = 1f;
            }
        }

        var fired = GeluTanh(UnitGain / 2);
        for (var u = 0; u < units.Count; u++)
        {
            var (context, next) = units[u];
            var m = context.Length;
            for (var back = 0; back < m; back++)
            {
                var token = context[m - 1 - back];
                layer.FeedForwardWeight[((long)Dim(back, token) * intermediate) + u] = UnitGain * Sign(token);
            }

            layer.FeedForwardBias[u] = -UnitGain * (m - 0.5f);
            layer.FeedForwardProjectionWeight[((long)u * hidden) + Dim(0, next)] = Sign(next) * OutputGain * MathF.Pow(3, m) / fired;
        }

        // The unit that always fires: the text's first token, weakly.
        var start = units.Count;
        layer.FeedForwardBias[start] = UnitGain / 2;
        layer.FeedForwardProjectionWeight[((long)start * hidden) + Dim(0, ids[0])] = Sign(ids[0]) * OutputGain / fired;
        return ([.. ids], w);
    }

    // Whether the last m tokens before position t+1 are followed by the same token wherever they occur in the text.
    private static bool Determines(List<int> ids, int t, int m)
    {
        for (var u = m - 1; u < ids.Count - 1; u++)
        {
            if (ids[u + 1] != ids[t + 1] && SameContext(ids, u, t, m)) return false;
        }

        return true;
    }

    private static bool SameContext(List<int> ids, int u, int t, int m)
    {
        for (var i = 0; i < m; i++)
        {
            if (ids[u - i] != ids[t - i]) return false;
        }

        return true;
    }

    private static int MostFrequentNext(List<int> ids, int[] context)
    {
        var counts = new Dictionary<int, int>();
        var best = -1;
        for (var u = context.Length - 1; u < ids.Count - 1; u++)
        {
            var match = true;
            for (var i = 0; i < context.Length && match; i++) match = ids[u - i] == context[^(i + 1)];
            if (!match) continue;
            var count = counts[ids[u + 1]] = counts.GetValueOrDefault(ids[u + 1]) + 1;
            if (best < 0 || count > counts[best]) best = ids[u + 1];
        }

        return best;
    }

    // The smallest gap between the score of the target key (F) and of any other key up to maxPositions away.
    private static float Margin(int frequencies, int maxPositions)
    {
        var margin = double.MaxValue;
        for (var d = 1; d <= maxPositions; d++)
        {
            var score = 0.0;
            for (var f = 0; f < frequencies; f++) score += Math.Cos(2 * Math.PI * d / Math.Pow(2, f + 1));
            margin = Math.Min(margin, frequencies - score);
        }

        return (float)margin;
    }

    private static void AddRead(float[] weight, int columns, int plus, int minus, int column, float value)
    {
        weight[(plus * columns) + column] += value;
        weight[(minus * columns) + column] -= value;
    }

    // LayerNormalization's standard deviation for a zero-mean input of this squared norm.
    private static float NormScale(int squaredNorm, int hidden) => MathF.Sqrt(((float)squaredNorm / hidden) + 1e-5f);

    private static float GeluTanh(float x) => 0.5f * x * (1 + MathF.Tanh(MathF.Sqrt(2 / MathF.PI) * (x + (0.044715f * x * x * x))));

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;
}
