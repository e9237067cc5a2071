using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ModelKit.ModelGenerator;

/// <summary>
/// Shape of a generated GPT-2-style decoder (<see cref="DecoderModels.CreateGpt2Decoder"/>). GPT-2 small is
/// <c>{ Layers = 12, Hidden = 768, Heads = 12 }</c> with the other defaults.
/// </summary>
public sealed record DecoderSpec
{
    /// <summary>Transformer blocks (<c>n_layer</c>). Default: 2.</summary>
    public int Layers { get; init; } = 2;

    /// <summary>Hidden size (<c>n_embd</c>). Default: 64.</summary>
    public int Hidden { get; init; } = 64;

    /// <summary>Attention heads (<c>n_head</c>; must divide <see cref="Hidden"/>). Default: 4.</summary>
    public int Heads { get; init; } = 4;

    /// <summary>Feed-forward size (<c>n_inner</c>); 4 × <see cref="Hidden"/> when 0. Default: 0.</summary>
    public int Intermediate { get; init; }

    /// <summary>Vocabulary size (<c>vocab_size</c>); GPT-2's tokenizer needs 50257. Default: 50257.</summary>
    public int Vocabulary { get; init; } = 50257;

    /// <summary>Longest sequence, past included (<c>n_positions</c>, the rows of the position embeddings). Default: 1024.</summary>
    public int MaxPositions { get; init; } = 1024;

    /// <summary>Seed of the deterministic random weights. Default: 11.</summary>
    public int Seed { get; init; } = 11;

    internal int HeadSize => Hidden / Heads;

    internal int IntermediateSize => Intermediate > 0 ? Intermediate : 4 * Hidden;

    internal void Validate()
    {
        var errors = new List<string>();
        if (Layers < 1) errors.Add($"Layers is {Layers}; a decoder needs at least 1 block.");
        if (Hidden < 1) errors.Add($"Hidden is {Hidden}; it must be at least 1.");
        if (Heads < 1 || (Hidden >= 1 && Hidden % Heads != 0)) errors.Add($"Heads is {Heads}; it must be at least 1 and divide Hidden ({Hidden}).");
        if (Intermediate < 0) errors.Add($"Intermediate is {Intermediate}; it must be 0 (4 × Hidden) or more.");
        if (Vocabulary < 1) errors.Add($"Vocabulary is {Vocabulary}; it must be at least 1.");
        if (MaxPositions < 1) errors.Add($"MaxPositions is {MaxPositions}; it must be at least 1.");
        if (errors.Count > 0) throw new ArgumentException("Invalid decoder spec: " + string.Join(" ", errors), "spec");
    }
}

/// <summary>
/// Writes GPT-2-style decoders with a KV cache in the layout of <c>optimum-cli export onnx --task text-generation-with-past</c>,
/// and the model folders Hugging Face publishes them in.
/// </summary>
/// <remarks>
/// <para>The graph's signature, for <c>L</c> layers, <c>H</c> heads of <c>d</c> = Hidden / H values, vocabulary <c>V</c>:</para>
/// <list type="bullet">
/// <item>inputs <c>input_ids</c> int64[batch_size, sequence_length]; <c>attention_mask</c> int64[batch_size, total_sequence_length]
/// (the past's positions, then the new ones); <c>position_ids</c> int64[batch_size, sequence_length];
/// <c>past_key_values.{i}.key</c> and <c>past_key_values.{i}.value</c> float[batch_size, H, past_sequence_length, d] for each layer i;</item>
/// <item>outputs <c>logits</c> float[batch_size, sequence_length, V]; <c>present.{i}.key</c> and <c>present.{i}.value</c>
/// float[batch_size, H, total_sequence_length, d]: the past with the new keys and values after it on axis 2.</item>
/// </list>
/// <para>
/// New token <c>i</c> of a row sits at key index <c>past_sequence_length + i</c>; it attends to key <c>j</c> when
/// <c>j ≤ past_sequence_length + i</c> and <c>attention_mask[b, j] == 1</c>. Masked scores get −10⁹ added (finite, so a
/// row with every key masked gives equal weights, never NaN). Positions come from <c>position_ids</c> only, so padding
/// may sit anywhere in the cache. The first pass takes empty past tensors (<c>past_sequence_length</c> = 0).
/// </para>
/// </remarks>
public static class DecoderModels
{
    /// <summary>The files a decoder folder holds (<see cref="WriteGpt2DecoderDirectory"/>), the model first.</summary>
    public static readonly IReadOnlyList<string> DirectoryFiles =
        ["model.onnx", "config.json", "generation_config.json", "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>The chat template written to <c>tokenizer_config.json</c>: ChatML (<c>&lt;|im_start|&gt;role\ncontent&lt;|im_end|&gt;\n</c>).</summary>
    public const string ChatMLTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    /// <summary>GPT-2's end-of-text token, its beginning-of-sequence and end-of-sequence token.</summary>
    public const string EndOfTextToken = Gpt2Vocabulary.EndOfText;

    /// <summary>The id of <see cref="EndOfTextToken"/>: <c>bos_token_id</c> and <c>eos_token_id</c>.</summary>
    public const int EndOfTextTokenId = Gpt2Vocabulary.EndOfTextId;

    private const float MaskedScore = -1e9f;
    private const float NormEpsilon = 1e-5f;

    /// <summary>A GPT-2-style decoder with deterministic random weights (GPT-2's initialisation) as ONNX bytes.</summary>
    /// <exception cref="ArgumentException">The spec is invalid (every problem is named).</exception>
    public static byte[] CreateGpt2Decoder(DecoderSpec? spec = null)
    {
        spec ??= new DecoderSpec();
        spec.Validate();
        return Build(Gpt2Weights.Random(spec), "ModelKit GPT-2-style decoder with random weights");
    }

    /// <summary>
    /// Writes a GPT-2-style decoder with random weights (<see cref="CreateGpt2Decoder"/>) into <paramref name="directory"/>
    /// as a model version folder like a Hugging Face export: <see cref="DirectoryFiles"/> — <c>model.onnx</c>,
    /// <c>config.json</c>, <c>generation_config.json</c>, GPT-2's real tokenizer (<c>vocab.json</c>, <c>merges.txt</c>),
    /// <c>tokenizer_config.json</c> (with a ChatML chat template) and <c>special_tokens_map.json</c>. Each file is
    /// written atomically. Returns the folder's path.
    /// </summary>
    /// <exception cref="ArgumentException">The spec is invalid, or its vocabulary is smaller than GPT-2's tokenizer (50257).</exception>
    public static string WriteGpt2DecoderDirectory(string directory, DecoderSpec? spec = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        spec ??= new DecoderSpec();
        spec.Validate();
        if (spec.Vocabulary < EndOfTextTokenId + 1)
        {
            throw new ArgumentException($"Vocabulary is {spec.Vocabulary}; the folder carries GPT-2's tokenizer, whose ids go up to {EndOfTextTokenId}, so it must be at least {EndOfTextTokenId + 1}.", nameof(spec));
        }

        return WriteDirectory(directory, CreateGpt2Decoder(spec), spec);
    }

    /// <summary>
    /// Abraham Lincoln's Gettysburg Address (1863, public domain) in the Bliss copy's wording, paragraphs apart by a blank
    /// line: the text <see cref="CreateRecitingDecoder"/> recites by default.
    /// </summary>
    public const string GettysburgAddress =
        "Four score and seven years ago our fathers brought forth on this continent, a new nation, conceived in Liberty, and dedicated to the proposition that all men are created equal.\n\n"
        + "Now we are engaged in a great civil war, testing whether that nation, or any nation so conceived and so dedicated, can long endure. We are met on a great battle-field of that war. "
        + "We have come to dedicate a portion of that field, as a final resting place for those who here gave their lives that that nation might live. "
        + "It is altogether fitting and proper that we should do this.\n\n"
        + "But, in a larger sense, we can not dedicate\u2014we can not consecrate\u2014we can not hallow\u2014this ground. "
        + "The brave men, living and dead, who struggled here, have consecrated it, far above our poor power to add or detract. "
        + "The world will little note, nor long remember what we say here, but it can never forget what they did here. "
        + "It is for us the living, rather, to be dedicated here to the unfinished work which they who fought here have thus far so nobly advanced. "
        + "It is rather for us to be here dedicated to the great task remaining before us\u2014that from these honored dead we take increased devotion to that cause for which they gave the last full measure of devotion\u2014"
        + "that we here highly resolve that these dead shall not have died in vain\u2014that this nation, under God, shall have a new birth of freedom\u2014"
        + "and that government of the people, by the people, for the people, shall not perish from the earth.";

    /// <summary>
    /// A decoder in the same layout as <see cref="CreateGpt2Decoder"/> whose weights are set by hand (not trained) so that
    /// it recites <paramref name="text"/>: greedy decoding continues any passage of the text with the rest of it, word
    /// for word, then gives the end-of-text token (50256); a prompt whose last token the text never has starts the
    /// text from its beginning. One layer; heads = the longest context the text needs to be unambiguous, less one
    /// (4 for the Gettysburg Address); hidden and feed-forward sizes as the text needs (512 and 2048 for it, about
    /// 30 M parameters, almost all of them the zero rows of the 50257 × hidden token embeddings); 1024 positions;
    /// GPT-2's vocabulary.
    /// </summary>
    /// <param name="text">The text; default: <see cref="GettysburgAddress"/>.</param>
    /// <exception cref="ArgumentException">The text is longer than 1023 tokens, or repeats a passage of 8 tokens or more with different continuations.</exception>
    public static byte[] CreateRecitingDecoder(string? text = null)
    {
        var (_, weights) = RecitingDecoder.Create(text ?? GettysburgAddress);
        return Build(weights, "ModelKit reciting decoder (an n-gram model of its text, weights set by hand)");
    }

    /// <summary>
    /// Writes the reciting decoder (<see cref="CreateRecitingDecoder"/>) into <paramref name="directory"/> with the same
    /// files as <see cref="WriteGpt2DecoderDirectory"/> (<see cref="DirectoryFiles"/>), each atomically. Returns the folder's path.
    /// </summary>
    /// <param name="directory">Where to write; created when missing.</param>
    /// <param name="text">The text; default: <see cref="GettysburgAddress"/>.</param>
    public static string WriteRecitingDecoderDirectory(string directory, string? text = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var (_, weights) = RecitingDecoder.Create(text ?? GettysburgAddress);
        return WriteDirectory(directory, Build(weights, "ModelKit reciting decoder (an n-gram model of its text, weights set by hand)"), weights.Spec);
    }

    /// <summary>Writes <paramref name="model"/> and the files of a GPT-2 folder beside it.</summary>
    internal static string WriteDirectory(string directory, byte[] model, DecoderSpec spec)
    {
        Directory.CreateDirectory(directory);
        var indented = new JsonSerializerOptions { WriteIndented = true };
        var config = new JsonObject
        {
            ["activation_function"] = "gelu_new",
            ["architectures"] = new JsonArray("GPT2LMHeadModel"),
            ["bos_token_id"] = EndOfTextTokenId,
            ["eos_token_id"] = EndOfTextTokenId,
            ["initializer_range"] = 0.02,
            ["layer_norm_epsilon"] = 1e-5,
            ["model_type"] = "gpt2",
            ["n_ctx"] = spec.MaxPositions,
            ["n_embd"] = spec.Hidden,
            ["n_head"] = spec.Heads,
            ["n_inner"] = spec.Intermediate > 0 ? spec.Intermediate : null,
            ["n_layer"] = spec.Layers,
            ["n_positions"] = spec.MaxPositions,
            ["scale_attn_weights"] = true,
            ["tie_word_embeddings"] = true,
            ["use_cache"] = true,
            ["vocab_size"] = spec.Vocabulary,
        };
        var generation = new JsonObject { ["bos_token_id"] = EndOfTextTokenId, ["eos_token_id"] = EndOfTextTokenId };
        var tokenizerConfig = new JsonObject
        {
            ["add_bos_token"] = false,
            ["add_prefix_space"] = false,
            ["bos_token"] = EndOfTextToken,
            ["chat_template"] = ChatMLTemplate,
            ["clean_up_tokenization_spaces"] = false,
            ["eos_token"] = EndOfTextToken,
            ["errors"] = "replace",
            ["model_max_length"] = spec.MaxPositions,
            ["tokenizer_class"] = "GPT2Tokenizer",
            ["unk_token"] = EndOfTextToken,
        };
        var specialTokens = new JsonObject { ["bos_token"] = EndOfTextToken, ["eos_token"] = EndOfTextToken, ["unk_token"] = EndOfTextToken };

        DemoModels.Write(Path.Combine(directory, "vocab.json"), Gpt2Vocabulary.VocabJson);
        DemoModels.Write(Path.Combine(directory, "merges.txt"), Gpt2Vocabulary.MergesTxt);
        DemoModels.Write(Path.Combine(directory, "tokenizer_config.json"), Json(tokenizerConfig, indented));
        DemoModels.Write(Path.Combine(directory, "special_tokens_map.json"), Json(specialTokens, indented));
        DemoModels.Write(Path.Combine(directory, "generation_config.json"), Json(generation, indented));
        DemoModels.Write(Path.Combine(directory, "config.json"), Json(config, indented));
        DemoModels.Write(Path.Combine(directory, "model.onnx"), model);
        return directory;
    }

    /// <summary>The decoder's graph with these weights, serialised.</summary>
    internal static byte[] Build(Gpt2Weights weights, string description)
    {
        var spec = weights.Spec;
        var hidden = spec.Hidden;
        var heads = spec.Heads;
        var headSize = spec.HeadSize;
        var intermediate = spec.IntermediateSize;
        var g = new OnnxGraphBuilder("gpt2_decoder")
        {
            DocString = $"{description}: {spec.Layers} layers, hidden {hidden}, {heads} heads, feed-forward {intermediate}, vocabulary {spec.Vocabulary}, {spec.MaxPositions} positions",
        };

        g.Input("input_ids", OnnxDataType.Int64, "batch_size", "sequence_length");
        g.Input("attention_mask", OnnxDataType.Int64, "batch_size", "total_sequence_length");
        g.Input("position_ids", OnnxDataType.Int64, "batch_size", "sequence_length");
        for (var i = 0; i < spec.Layers; i++)
        {
            g.Input($"past_key_values.{i}.key", OnnxDataType.Float, "batch_size", heads, "past_sequence_length", headSize);
            g.Input($"past_key_values.{i}.value", OnnxDataType.Float, "batch_size", heads, "past_sequence_length", headSize);
        }

        g.Output("logits", OnnxDataType.Float, "batch_size", "sequence_length", spec.Vocabulary);
        for (var i = 0; i < spec.Layers; i++)
        {
            g.Output($"present.{i}.key", OnnxDataType.Float, "batch_size", heads, "total_sequence_length", headSize);
            g.Output($"present.{i}.value", OnnxDataType.Float, "batch_size", heads, "total_sequence_length", headSize);
        }

        // Embeddings: the token's plus its position's, the position read from position_ids.
        var wte = g.Constant("transformer.wte.weight", weights.TokenEmbeddings, spec.Vocabulary, hidden);
        var wpe = g.Constant("transformer.wpe.weight", weights.PositionEmbeddings, spec.MaxPositions, hidden);
        var h = g.Node("Add", [g.Node("Gather", [wte, "input_ids"]), g.Node("Gather", [wpe, "position_ids"])]);

        // The additive mask [batch, 1, sequence, total]: 0 where new token i may see key j (j ≤ past + i and the mask is 1), else -1e9.
        var past = g.Node("Gather", [g.Node("Shape", ["past_key_values.0.key"]), g.Scalar(2L)], attributes: ("axis", 0));
        var sequence = g.Node("Gather", [g.Node("Shape", ["input_ids"]), g.Scalar(1L)], attributes: ("axis", 0));
        var total = g.Node("Gather", [g.Node("Shape", ["attention_mask"]), g.Scalar(1L)], attributes: ("axis", 0));
        var one = g.Scalar(1L);
        var queryPositions = g.Node("Unsqueeze", [g.Node("Range", [past, g.Node("Add", [past, sequence]), one]), g.Constant("query_axis", [1L], 1)]);
        var keyPositions = g.Node("Range", [g.Scalar(0L), total, one]);
        var causal = g.Node("LessOrEqual", [keyPositions, queryPositions]);
        var attended = g.Node("Unsqueeze", [g.Node("Equal", ["attention_mask", one]), g.Constant("mask_axes", [1L, 2L], 2)]);
        var mask = g.Node("Where", [g.Node("And", [causal, attended]), g.Scalar(0f), g.Scalar(MaskedScore)]);

        var splitHeads = g.Constant("split_heads_shape", [0L, 0L, heads, headSize], 4);
        var mergeHeads = g.Constant("merge_heads_shape", [0L, 0L, hidden], 3);
        var qkvSizes = g.Constant("qkv_sizes", [hidden, hidden, (long)hidden], 3);
        var scale = g.Scalar(1f / MathF.Sqrt(headSize));
        long[] toHeads = [0, 2, 1, 3];
        for (var i = 0; i < spec.Layers; i++)
        {
            var p = $"transformer.h.{i}";
            var layer = weights.Layers[i];

            var x = LayerNorm(g, h, layer.AttentionNormWeight, layer.AttentionNormBias, $"{p}.ln_1");
            var qkv = Linear(g, x, layer.AttentionWeight, layer.AttentionBias, hidden, 3 * hidden, $"{p}.attn.c_attn");
            string[] qkvNames = [$"{p}.attn.q", $"{p}.attn.k", $"{p}.attn.v"];
            g.NodeWithOutputs("Split", [qkv, qkvSizes], qkvNames, ("axis", 2));
            var q = g.Node("Transpose", [g.Node("Reshape", [qkvNames[0], splitHeads])], attributes: ("perm", toHeads));
            var k = g.Node("Transpose", [g.Node("Reshape", [qkvNames[1], splitHeads])], attributes: ("perm", toHeads));
            var v = g.Node("Transpose", [g.Node("Reshape", [qkvNames[2], splitHeads])], attributes: ("perm", toHeads));
            var keys = g.Node("Concat", [$"past_key_values.{i}.key", k], $"present.{i}.key", ("axis", 2));
            var values = g.Node("Concat", [$"past_key_values.{i}.value", v], $"present.{i}.value", ("axis", 2));

            var scores = g.Node("MatMul", [q, g.Node("Transpose", [keys], attributes: ("perm", new long[] { 0, 1, 3, 2 }))]);
            var probabilities = g.Node("Softmax", [g.Node("Add", [g.Node("Mul", [scores, scale]), mask])], attributes: ("axis", -1));
            var context = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [probabilities, values])], attributes: ("perm", toHeads)), mergeHeads]);
            var attention = Linear(g, context, layer.AttentionProjectionWeight, layer.AttentionProjectionBias, hidden, hidden, $"{p}.attn.c_proj");
            h = g.Node("Add", [h, attention]);

            var y = LayerNorm(g, h, layer.FeedForwardNormWeight, layer.FeedForwardNormBias, $"{p}.ln_2");
            var up = GeluTanh(g, Linear(g, y, layer.FeedForwardWeight, layer.FeedForwardBias, hidden, intermediate, $"{p}.mlp.c_fc"));
            h = g.Node("Add", [h, Linear(g, up, layer.FeedForwardProjectionWeight, layer.FeedForwardProjectionBias, intermediate, hidden, $"{p}.mlp.c_proj")]);
        }

        // The head is tied to the token embeddings: logits = ln_f(h) · wteᵀ, as a Gemm over the rows so wte is stored once.
        var final = LayerNorm(g, h, weights.FinalNormWeight, weights.FinalNormBias, "transformer.ln_f");
        var rows = g.Node("Reshape", [final, g.Constant("rows_shape", [-1L, hidden], 2)]);
        var logits = g.Node("Gemm", [rows, wte], attributes: ("transB", 1));
        var logitsShape = g.Node("Concat", [g.Node("Shape", ["input_ids"]), g.Constant("vocabulary_size", [(long)spec.Vocabulary], 1)], attributes: ("axis", 0));
        g.Node("Reshape", [logits, logitsShape], "logits");
        return g.Build();
    }

    private static byte[] Json(JsonObject value, JsonSerializerOptions options) => Encoding.UTF8.GetBytes(value.ToJsonString(options) + "\n");

    private static string Linear(OnnxGraphBuilder g, string input, float[] weight, float[] bias, int inFeatures, int outFeatures, string prefix)
    {
        var w = g.Constant($"{prefix}.weight", weight, inFeatures, outFeatures);
        var b = g.Constant($"{prefix}.bias", bias, outFeatures);
        return g.Node("Add", [g.Node("MatMul", [input, w]), b]);
    }

    private static string LayerNorm(OnnxGraphBuilder g, string input, float[] weight, float[] bias, string prefix) =>
        g.Node("LayerNormalization", [input, g.Constant($"{prefix}.weight", weight, weight.Length), g.Constant($"{prefix}.bias", bias, bias.Length)],
            attributes: [("axis", -1), ("epsilon", NormEpsilon)]);

    // GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    private static string GeluTanh(OnnxGraphBuilder g, string x)
    {
        var cube = g.Node("Mul", [g.Node("Mul", [x, x]), x]);
        var inner = g.Node("Mul", [g.Node("Add", [x, g.Node("Mul", [cube, g.Scalar(0.044715f)])]), g.Scalar(MathF.Sqrt(2f / MathF.PI))]);
        return g.Node("Mul", [g.Node("Mul", [x, g.Scalar(0.5f)]), g.Node("Add", [g.Node("Tanh", [inner]), g.Scalar(1f)])]);
    }
}
