namespace ModelKit.ModelGenerator;

/// <summary>
/// The parameters of a GPT-2 decoder, shaped as Hugging Face's <c>GPT2LMHeadModel</c> holds them: Conv1D weights are
/// [in, out] (row-major), so <c>y = x · W + b</c>; the language-model head is <see cref="TokenEmbeddings"/> itself.
/// </summary>
internal sealed class Gpt2Weights
{
    public Gpt2Weights(DecoderSpec spec)
    {
        Spec = spec;
        var d = spec.Hidden;
        TokenEmbeddings = new float[spec.Vocabulary * d];
        PositionEmbeddings = new float[spec.MaxPositions * d];
        Layers = new Layer[spec.Layers];
        for (var i = 0; i < Layers.Length; i++) Layers[i] = new Layer(d, spec.IntermediateSize);
        FinalNormWeight = Ones(d);
        FinalNormBias = new float[d];
    }

    public DecoderSpec Spec { get; }

    /// <summary><c>transformer.wte.weight</c> [Vocabulary, Hidden]; also the head: logits = h · wteᵀ.</summary>
    public float[] TokenEmbeddings { get; }

    /// <summary><c>transformer.wpe.weight</c> [MaxPositions, Hidden].</summary>
    public float[] PositionEmbeddings { get; }

    public Layer[] Layers { get; }

    /// <summary><c>transformer.ln_f.weight</c> [Hidden].</summary>
    public float[] FinalNormWeight { get; }

    /// <summary><c>transformer.ln_f.bias</c> [Hidden].</summary>
    public float[] FinalNormBias { get; }

    /// <summary>GPT-2's initialisation: normal(0, 0.02) weights, the residual projections scaled by 1/√(2·layers), zero biases, unit norms.</summary>
    public static Gpt2Weights Random(DecoderSpec spec)
    {
        var weights = new Gpt2Weights(spec);
        var random = new Random(spec.Seed);
        const float std = 0.02f;
        var residualStd = std / MathF.Sqrt(2f * spec.Layers);
        Normal(random, weights.TokenEmbeddings, std);
        Normal(random, weights.PositionEmbeddings, std / 2);
        foreach (var layer in weights.Layers)
        {
            Normal(random, layer.AttentionWeight, std);
            Normal(random, layer.AttentionProjectionWeight, residualStd);
            Normal(random, layer.FeedForwardWeight, std);
            Normal(random, layer.FeedForwardProjectionWeight, residualStd);
        }

        return weights;
    }

    private static float[] Ones(int count)
    {
        var values = new float[count];
        Array.Fill(values, 1f);
        return values;
    }

    // Box-Muller in single precision, both values of each draw used (the big benchmark model draws 45 million).
    private static void Normal(Random random, float[] values, float std)
    {
        for (var i = 0; i < values.Length; i += 2)
        {
            var radius = std * MathF.Sqrt(-2f * MathF.Log(1f - random.NextSingle()));
            var (sin, cos) = MathF.SinCos(2f * MathF.PI * random.NextSingle());
            values[i] = radius * cos;
            if (i + 1 < values.Length) values[i + 1] = radius * sin;
        }
    }

    /// <summary>One block's parameters (<c>transformer.h.{i}.…</c>).</summary>
    public sealed class Layer
    {
        public Layer(int hidden, int intermediate)
        {
            AttentionNormWeight = Ones(hidden);
            AttentionNormBias = new float[hidden];
            AttentionWeight = new float[hidden * 3 * hidden];
            AttentionBias = new float[3 * hidden];
            AttentionProjectionWeight = new float[hidden * hidden];
            AttentionProjectionBias = new float[hidden];
            FeedForwardNormWeight = Ones(hidden);
            FeedForwardNormBias = new float[hidden];
            FeedForwardWeight = new float[hidden * intermediate];
            FeedForwardBias = new float[intermediate];
            FeedForwardProjectionWeight = new float[intermediate * hidden];
            FeedForwardProjectionBias = new float[hidden];
        }

        /// <summary><c>ln_1.weight</c> [Hidden].</summary>
        public float[] AttentionNormWeight { get; }

        /// <summary><c>ln_1.bias</c> [Hidden].</summary>
        public float[] AttentionNormBias { get; }

        /// <summary><c>attn.c_attn.weight</c> [Hidden, 3·Hidden]: columns q, then k, then v; head h owns columns h·head_dim … of each.</summary>
        public float[] AttentionWeight { get; }

        /// <summary><c>attn.c_attn.bias</c> [3·Hidden].</summary>
        public float[] AttentionBias { get; }

        /// <summary><c>attn.c_proj.weight</c> [Hidden, Hidden]: rows are the heads' outputs, head by head.</summary>
        public float[] AttentionProjectionWeight { get; }

        /// <summary><c>attn.c_proj.bias</c> [Hidden].</summary>
        public float[] AttentionProjectionBias { get; }

        /// <summary><c>ln_2.weight</c> [Hidden].</summary>
        public float[] FeedForwardNormWeight { get; }

        /// <summary><c>ln_2.bias</c> [Hidden].</summary>
        public float[] FeedForwardNormBias { get; }

        /// <summary><c>mlp.c_fc.weight</c> [Hidden, Intermediate].</summary>
        public float[] FeedForwardWeight { get; }

        /// <summary><c>mlp.c_fc.bias</c> [Intermediate].</summary>
        public float[] FeedForwardBias { get; }

        /// <summary><c>mlp.c_proj.weight</c> [Intermediate, Hidden].</summary>
        public float[] FeedForwardProjectionWeight { get; }

        /// <summary><c>mlp.c_proj.bias</c> [Hidden].</summary>
        public float[] FeedForwardProjectionBias { get; }
    }
}
