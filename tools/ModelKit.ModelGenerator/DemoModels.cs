namespace ModelKit.ModelGenerator;

/// <summary>Shape of the generated MLP: <c>x float[N,Inputs] → MatMul+Add → Relu → MatMul+Add → logits float[N,Outputs]</c>.</summary>
public sealed record MlpSpec
{
    /// <summary>Input features. Default: 64.</summary>
    public int Inputs { get; init; } = 64;
    /// <summary>Hidden units. Default: 256.</summary>
    public int Hidden { get; init; } = 256;
    /// <summary>Output logits. Default: 10.</summary>
    public int Outputs { get; init; } = 10;
    /// <summary>Seed of the deterministic weights. Default: 42.</summary>
    public int Seed { get; init; } = 42;
}

/// <summary>
/// Shape of the generated BERT-style encoder, laid out as Hugging Face exports it:
/// inputs <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c> (int64[batch,sequence]), output
/// <c>last_hidden_state</c> (float[batch,sequence,Hidden]).
/// </summary>
public sealed record BertSpec
{
    /// <summary>Encoder layers. Default: 2.</summary>
    public int Layers { get; init; } = 2;
    /// <summary>Hidden size. Default: 128.</summary>
    public int Hidden { get; init; } = 128;
    /// <summary>Attention heads (must divide <see cref="Hidden"/>). Default: 2.</summary>
    public int Heads { get; init; } = 2;
    /// <summary>Feed-forward size; 4 × <see cref="Hidden"/> when 0. Default: 0.</summary>
    public int Intermediate { get; init; }
    /// <summary>Vocabulary size. Default: 1000.</summary>
    public int Vocabulary { get; init; } = 1000;
    /// <summary>Longest sequence (position embeddings). Default: 512.</summary>
    public int MaxPositions { get; init; } = 512;
    /// <summary>Seed of the deterministic weights. Default: 7.</summary>
    public int Seed { get; init; } = 7;
}

/// <summary>Writes the project's generated ONNX models.</summary>
public static class DemoModels
{
    /// <summary>The generated MLP as ONNX bytes.</summary>
    public static byte[] CreateMlp(MlpSpec? spec = null) => MlpGraph(spec).Build();

    /// <summary>
    /// The generated MLP with its weights in an external-data file named <paramref name="dataLocation"/> (the biases of
    /// under 1 KiB stay inside the model); it computes exactly what <see cref="CreateMlp"/> does for the same spec.
    /// </summary>
    public static ExternalDataModel CreateMlpWithExternalData(string dataLocation = "mlp.onnx.data", MlpSpec? spec = null) =>
        MlpGraph(spec).BuildWithExternalData(dataLocation);

    private static OnnxGraphBuilder MlpGraph(MlpSpec? spec)
    {
        spec ??= new MlpSpec();
        var random = new Random(spec.Seed);
        var g = new OnnxGraphBuilder("mlp") { DocString = $"ModelKit demo MLP {spec.Inputs}->{spec.Hidden}->{spec.Outputs}" };
        g.Input("x", OnnxDataType.Float, "batch", spec.Inputs);
        g.Output("logits", OnnxDataType.Float, "batch", spec.Outputs);
        var w1 = g.Constant("w1", Normal(random, spec.Inputs * spec.Hidden, 1f / MathF.Sqrt(spec.Inputs)), spec.Inputs, spec.Hidden);
        var b1 = g.Constant("b1", Normal(random, spec.Hidden, 0.1f), spec.Hidden);
        var w2 = g.Constant("w2", Normal(random, spec.Hidden * spec.Outputs, 1f / MathF.Sqrt(spec.Hidden)), spec.Hidden, spec.Outputs);
        var b2 = g.Constant("b2", Normal(random, spec.Outputs, 0.1f), spec.Outputs);
        var h = g.Node("Relu", [g.Node("Add", [g.Node("MatMul", ["x", w1]), b1])]);
        g.Node("Add", [g.Node("MatMul", [h, w2]), b2], "logits");
        return g;
    }

    /// <summary>The generated BERT-style encoder as ONNX bytes.</summary>
    public static byte[] CreateBertEncoder(BertSpec? spec = null)
    {
        spec ??= new BertSpec();
        if (spec.Hidden % spec.Heads != 0) throw new ArgumentException($"Hidden ({spec.Hidden}) must be a multiple of Heads ({spec.Heads}).", nameof(spec));
        var hidden = spec.Hidden;
        var headSize = hidden / spec.Heads;
        var intermediate = spec.Intermediate > 0 ? spec.Intermediate : 4 * hidden;
        var random = new Random(spec.Seed);
        var g = new OnnxGraphBuilder("bert_encoder")
        {
            DocString = $"ModelKit demo BERT-style encoder: {spec.Layers} layers, hidden {hidden}, {spec.Heads} heads, vocabulary {spec.Vocabulary}",
        };
        g.Input("input_ids", OnnxDataType.Int64, "batch_size", "sequence_length");
        g.Input("attention_mask", OnnxDataType.Int64, "batch_size", "sequence_length");
        g.Input("token_type_ids", OnnxDataType.Int64, "batch_size", "sequence_length");
        g.Output("last_hidden_state", OnnxDataType.Float, "batch_size", "sequence_length", hidden);

        // Embeddings: word + position + token type, then LayerNorm.
        var wordEmbeddings = g.Constant("embeddings.word_embeddings.weight", Normal(random, spec.Vocabulary * hidden, 0.02f), spec.Vocabulary, hidden);
        var positionEmbeddings = g.Constant("embeddings.position_embeddings.weight", Normal(random, spec.MaxPositions * hidden, 0.02f), spec.MaxPositions, hidden);
        var typeEmbeddings = g.Constant("embeddings.token_type_embeddings.weight", Normal(random, 2 * hidden, 0.02f), 2, hidden);
        var words = g.Node("Gather", [wordEmbeddings, "input_ids"]);
        var sequenceLength = g.Node("Gather", [g.Node("Shape", ["input_ids"]), g.Scalar(1L)], attributes: ("axis", 0));
        var positions = g.Node("Range", [g.Scalar(0L), sequenceLength, g.Scalar(1L)]);
        var positionVectors = g.Node("Gather", [positionEmbeddings, positions]);
        var types = g.Node("Gather", [typeEmbeddings, "token_type_ids"]);
        var embedded = g.Node("Add", [g.Node("Add", [words, positionVectors]), types]);
        var h = LayerNorm(g, random, embedded, hidden, "embeddings.LayerNorm");

        // Additive mask: 0 where attended, -10000 where masked; shaped [batch,1,1,sequence].
        var maskFloat = g.Node("Cast", ["attention_mask"], attributes: ("to", (long)OnnxDataType.Float));
        var inverted = g.Node("Sub", [g.Scalar(1f), maskFloat]);
        var additive = g.Node("Mul", [inverted, g.Scalar(-10000f)]);
        var mask = g.Node("Unsqueeze", [additive, g.Constant("mask_axes", [1L, 2L], 2)]);
        var splitHeads = g.Constant("split_heads_shape", [0L, 0L, spec.Heads, headSize], 4);
        var mergeHeads = g.Constant("merge_heads_shape", [0L, 0L, hidden], 3);
        var scale = g.Scalar(1f / MathF.Sqrt(headSize));

        for (var layer = 0; layer < spec.Layers; layer++)
        {
            var p = $"encoder.layer.{layer}";
            var q = g.Node("Transpose", [g.Node("Reshape", [Linear(g, random, h, hidden, hidden, $"{p}.attention.self.query"), splitHeads])], attributes: ("perm", new long[] { 0, 2, 1, 3 }));
            var k = g.Node("Transpose", [g.Node("Reshape", [Linear(g, random, h, hidden, hidden, $"{p}.attention.self.key"), splitHeads])], attributes: ("perm", new long[] { 0, 2, 3, 1 }));
            var v = g.Node("Transpose", [g.Node("Reshape", [Linear(g, random, h, hidden, hidden, $"{p}.attention.self.value"), splitHeads])], attributes: ("perm", new long[] { 0, 2, 1, 3 }));
            var scores = g.Node("Add", [g.Node("Mul", [g.Node("MatMul", [q, k]), scale]), mask]);
            var probabilities = g.Node("Softmax", [scores], attributes: ("axis", -1));
            var context = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [probabilities, v])], attributes: ("perm", new long[] { 0, 2, 1, 3 })), mergeHeads]);
            var attention = Linear(g, random, context, hidden, hidden, $"{p}.attention.output.dense");
            var h1 = LayerNorm(g, random, g.Node("Add", [attention, h]), hidden, $"{p}.attention.output.LayerNorm");
            var up = Linear(g, random, h1, hidden, intermediate, $"{p}.intermediate.dense");
            var gelu = Gelu(g, up);
            var down = Linear(g, random, gelu, intermediate, hidden, $"{p}.output.dense");
            h = LayerNorm(g, random, g.Node("Add", [down, h1]), hidden, $"{p}.output.LayerNorm", output: layer == spec.Layers - 1 ? "last_hidden_state" : null);
        }

        if (spec.Layers == 0) g.Node("Identity", [h], "last_hidden_state");
        return g.Build();
    }

    /// <summary>
    /// A model with one input and output of each element type, for the wire formats: h float16[N,3] → h_float = float(h),
    /// h_twice = float16(2·float(h)); s string[N,2] → s_out = s; b bool[N,2] → b_not = ¬b; u uint8[N,2] → u_out = u;
    /// i int32[N,2] → i_out = i; l int64[N,2] → l_out = l.
    /// </summary>
    public static byte[] CreateTypedIo()
    {
        var g = new OnnxGraphBuilder("typed-io");
        g.Input("h", OnnxDataType.Float16, "N", 3).Input("s", OnnxDataType.String, "N", 2).Input("b", OnnxDataType.Bool, "N", 2)
            .Input("u", OnnxDataType.UInt8, "N", 2).Input("i", OnnxDataType.Int32, "N", 2).Input("l", OnnxDataType.Int64, "N", 2);
        var asFloat = g.Node("Cast", ["h"], "h_float", ("to", (long)OnnxDataType.Float));
        var doubled = g.Node("Mul", [asFloat, g.Scalar(2f)]);
        g.Node("Cast", [doubled], "h_twice", ("to", (long)OnnxDataType.Float16));
        g.Node("Identity", ["s"], "s_out");
        g.Node("Not", ["b"], "b_not");
        g.Node("Identity", ["u"], "u_out");
        g.Node("Identity", ["i"], "i_out");
        g.Node("Identity", ["l"], "l_out");
        g.Output("h_float", OnnxDataType.Float, "N", 3).Output("h_twice", OnnxDataType.Float16, "N", 3).Output("s_out", OnnxDataType.String, "N", 2)
            .Output("b_not", OnnxDataType.Bool, "N", 2).Output("u_out", OnnxDataType.UInt8, "N", 2).Output("i_out", OnnxDataType.Int32, "N", 2)
            .Output("l_out", OnnxDataType.Int64, "N", 2);
        return g.Build();
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically (temporary file, then rename).</summary>
    public static string Write(string path, byte[] model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(temp, model);
        File.Move(temp, path, overwrite: true);
        return path;
    }

    /// <summary>Writes a model and its external-data file beside it (at its location), each atomically; returns the model's path.</summary>
    public static string Write(string path, ExternalDataModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Write(Path.Combine(directory, model.Location), model.Data);
        return Write(path, model.Model);
    }

    private static string Linear(OnnxGraphBuilder g, Random random, string input, int inFeatures, int outFeatures, string prefix)
    {
        var weight = g.Constant($"{prefix}.weight", Normal(random, inFeatures * outFeatures, 0.02f), inFeatures, outFeatures);
        var bias = g.Constant($"{prefix}.bias", new float[outFeatures], outFeatures);
        return g.Node("Add", [g.Node("MatMul", [input, weight]), bias]);
    }

    private static string LayerNorm(OnnxGraphBuilder g, Random random, string input, int hidden, string prefix, string? output = null)
    {
        var gamma = new float[hidden];
        for (var i = 0; i < hidden; i++) gamma[i] = 1f + (0.01f * (float)((random.NextDouble() * 2) - 1));
        var weight = g.Constant($"{prefix}.weight", gamma, hidden);
        var bias = g.Constant($"{prefix}.bias", new float[hidden], hidden);
        return g.Node("LayerNormalization", [input, weight, bias], output, ("axis", -1), ("epsilon", 1e-12f));
    }

    // GELU as exported by PyTorch: x * 0.5 * (1 + erf(x / sqrt(2))); ONNX Runtime fuses the pattern.
    private static string Gelu(OnnxGraphBuilder g, string x)
    {
        var erf = g.Node("Erf", [g.Node("Div", [x, g.Scalar(MathF.Sqrt(2f))])]);
        return g.Node("Mul", [g.Node("Mul", [x, g.Node("Add", [erf, g.Scalar(1f)])]), g.Scalar(0.5f)]);
    }

    private static float[] Normal(Random random, int count, float std)
    {
        var values = new float[count];
        for (var i = 0; i < count; i++)
        {
            // Box-Muller.
            var u1 = 1.0 - random.NextDouble();
            var u2 = random.NextDouble();
            values[i] = (float)(std * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        return values;
    }
}
