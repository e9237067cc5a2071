using ModelKit.Tensors;
using ModelKit.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>A registered version read as a decoder: its layout, its tokenizer, its config and its chat template.</summary>
internal sealed class DecoderModel
{
    /// <summary>The context when neither the model's config nor its tokenizer config says.</summary>
    internal const int FallbackContextLength = 2048;

    private readonly HashSet<int> _endTokens;

    private DecoderModel(DecoderLayout layout, DecoderConfig config, ModelTokenizer tokenizer, ChatTemplate template, int kvHeads, int headDim, HashSet<string> int32Inputs)
    {
        Layout = layout;
        Config = config;
        Tokenizer = tokenizer;
        Template = template;
        KvHeads = kvHeads;
        HeadDim = headDim;
        Int32Inputs = int32Inputs;
        ContextLength = config.ContextLength ?? tokenizer.ModelMaxLength ?? FallbackContextLength;
        _endTokens = [.. config.EosTokenIds];
        if (config.EosToken is { } eos && tokenizer.Tokenizer.EncodeToIds(eos) is [var eosId]) _endTokens.Add(eosId);
        EndTokens = [.. _endTokens];
    }

    public DecoderLayout Layout { get; }
    public DecoderConfig Config { get; }
    public ModelTokenizer Tokenizer { get; }
    public ChatTemplate Template { get; }
    public int KvHeads { get; }
    public int HeadDim { get; }
    public int ContextLength { get; }
    public IReadOnlyList<int> EndTokens { get; }

    /// <summary>Inputs (ids, mask, positions) the model takes as int32 rather than int64.</summary>
    public HashSet<string> Int32Inputs { get; }

    public bool IsEndToken(int token) => _endTokens.Contains(token);

    /// <summary>Reads a version as a decoder; UNSUPPORTED_TASK when it is none (no tokenizer, not the decoder layout).</summary>
    public static DecoderModel Create(string modelId, ModelSignature? signature, IReadOnlyDictionary<string, string> files, string? configuredTemplate)
    {
        if (signature is null)
        {
            throw new UnsupportedTaskException($"Model '{modelId}' cannot generate text: its inputs and outputs are not known.");
        }

        var layout = DecoderLayout.Detect(signature, out var reason)
            ?? throw new UnsupportedTaskException($"Model '{modelId}' is not a text decoder: {reason}.");
        var tokenizer = ModelTokenizers.Load(files)
            ?? throw new UnsupportedTaskException(
                $"Model '{modelId}' has no tokenizer: store its tokenizer files (tokenizer.json, or vocab.json + merges.txt, …) with the version to generate text.");
        var config = DecoderConfig.Read(files);
        var heads = layout.KvHeads > 0 ? layout.KvHeads : config.KvHeads ?? -1;
        var headDim = layout.HeadDim > 0 ? layout.HeadDim : config.HeadDim ?? -1;
        if (layout.HasKvCache && (heads <= 0 || headDim <= 0))
        {
            throw new InvalidModelConfigException(
                $"Model '{modelId}' leaves the heads or the head size of its past_key_values dynamic and its config.json does not give them (num_key_value_heads, head_dim).");
        }

        var int32 = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in signature.Inputs)
        {
            if (input.ElementType == TensorElementType.Int32) int32.Add(input.Name);
        }

        var template = ChatTemplate.Detect(config.ChatTemplate, configuredTemplate);
        return new DecoderModel(layout, config, tokenizer, template, heads, headDim, int32);
    }

    /// <summary>The log-probability of <paramref name="token"/> under the raw logits, with the most likely alternatives.</summary>
    public TokenLogProb LogProb(ReadOnlySpan<float> rawLogits, int token, int top) => LogProbs.Compute(rawLogits, token, top, Tokenizer);
}
