using System.Globalization;
using System.Text.RegularExpressions;
using ModelKit.Tensors;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// Where a decoder's inputs and outputs are, read from its signature in the Hugging Face / Optimum export layout:
/// <c>input_ids</c>, <c>attention_mask</c>, optional <c>position_ids</c> and <c>use_cache_branch</c>,
/// <c>past_key_values.N.key/value</c> [batch, kv_heads, past, head_dim] → <c>logits</c> [batch, sequence, vocabulary],
/// <c>present.N.key/value</c> [batch, kv_heads, past + sequence, head_dim]. A decoder without past inputs is supported
/// too: it recomputes the whole sequence at every step.
/// </summary>
internal sealed partial record DecoderLayout
{
    public required string InputIds { get; init; }
    public string? AttentionMask { get; init; }
    public string? PositionIds { get; init; }
    public string? UseCacheBranch { get; init; }
    public required string Logits { get; init; }
    public required TensorElementType LogitsType { get; init; }

    /// <summary>Per layer: past key, past value, present key, present value; empty when the model keeps no cache.</summary>
    public required IReadOnlyList<KvNames> Layers { get; init; }

    public TensorElementType KvType { get; init; } = TensorElementType.Float32;

    /// <summary>The key/value heads, or -1 when the signature leaves them dynamic (then config.json says).</summary>
    public int KvHeads { get; init; } = -1;

    /// <summary>The size of one head, or -1 when dynamic.</summary>
    public int HeadDim { get; init; } = -1;

    /// <summary>The vocabulary from the logits' last dimension, or -1 when dynamic.</summary>
    public int Vocabulary { get; init; } = -1;

    public bool HasKvCache => Layers.Count > 0;

    /// <summary>Every input the layout feeds, so that a model with any other input is refused up front.</summary>
    public IEnumerable<string> FedInputs()
    {
        yield return InputIds;
        if (AttentionMask is not null) yield return AttentionMask;
        if (PositionIds is not null) yield return PositionIds;
        if (UseCacheBranch is not null) yield return UseCacheBranch;
        foreach (var layer in Layers)
        {
            yield return layer.PastKey;
            yield return layer.PastValue;
        }
    }

    /// <summary>The layout, or null with the reason when the signature is not a decoder's.</summary>
    public static DecoderLayout? Detect(ModelSignature signature, out string reason)
    {
        ArgumentNullException.ThrowIfNull(signature);
        var ids = signature.FindInput("input_ids");
        var logits = Find(signature.Outputs, "logits");
        if (ids is null || logits is null)
        {
            reason = "a decoder takes 'input_ids' and gives 'logits'; this model takes "
                + Names(signature.Inputs) + " and gives " + Names(signature.Outputs);
            return null;
        }

        if (ids.ElementType is not (TensorElementType.Int64 or TensorElementType.Int32) || ids.Shape.Count != 2)
        {
            reason = $"its 'input_ids' is {ids.Describe()}; a decoder's is int64[batch, sequence]";
            return null;
        }

        if (logits.ElementType is not (TensorElementType.Float32 or TensorElementType.Float16) || logits.Shape.Count != 3)
        {
            reason = $"its 'logits' is {logits.Describe()}; a decoder's is float[batch, sequence, vocabulary]";
            return null;
        }

        var past = new SortedDictionary<int, (string? Key, string? Value)>();
        foreach (var input in signature.Inputs)
        {
            var m = PastName().Match(input.Name);
            if (!m.Success) continue;
            var layer = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            var entry = past.GetValueOrDefault(layer);
            past[layer] = m.Groups[2].Value == "key" ? (input.Name, entry.Value) : (entry.Key, input.Name);
        }

        var present = new Dictionary<(int, string), string>();
        foreach (var output in signature.Outputs)
        {
            var m = PresentName().Match(output.Name);
            if (m.Success) present[(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value)] = output.Name;
        }

        var layers = new List<KvNames>(past.Count);
        var expected = 0;
        foreach (var (layer, (key, value)) in past)
        {
            if (layer != expected++ || key is null || value is null
                || !present.TryGetValue((layer, "key"), out var presentKey) || !present.TryGetValue((layer, "value"), out var presentValue))
            {
                reason = $"its past_key_values inputs are incomplete at layer {layer}: each layer 0..N-1 needs "
                    + "'past_key_values.N.key' and '.value' inputs and 'present.N.key' and '.value' outputs";
                return null;
            }

            layers.Add(new KvNames(key, value, presentKey, presentValue));
        }

        var kvType = TensorElementType.Float32;
        int heads = -1, headDim = -1;
        if (layers.Count > 0)
        {
            var first = signature.FindInput(layers[0].PastKey)!;
            if (first.Shape.Count != 4 || first.ElementType is not (TensorElementType.Float32 or TensorElementType.Float16))
            {
                reason = $"its '{first.Name}' is {first.Describe()}; past keys are float[batch, heads, past, head_dim]";
                return null;
            }

            kvType = first.ElementType;
            heads = (int)first.Shape[1];
            headDim = (int)first.Shape[3];
        }

        string? mask = signature.FindInput("attention_mask")?.Name, positions = signature.FindInput("position_ids")?.Name;
        string? branch = signature.FindInput("use_cache_branch")?.Name;
        var layout = new DecoderLayout
        {
            InputIds = ids.Name,
            AttentionMask = mask,
            PositionIds = positions,
            UseCacheBranch = branch,
            Logits = logits.Name,
            LogitsType = logits.ElementType,
            Layers = layers,
            KvType = kvType,
            KvHeads = heads,
            HeadDim = headDim,
            Vocabulary = logits.Shape[2] > 0 ? (int)logits.Shape[2] : -1,
        };
        var fed = new HashSet<string>(layout.FedInputs(), StringComparer.Ordinal);
        foreach (var input in signature.Inputs)
        {
            if (!fed.Contains(input.Name))
            {
                reason = $"it takes an input ModelKit cannot feed a decoder: '{input.Name}' ({input.Describe()})";
                return null;
            }
        }

        reason = string.Empty;
        return layout;
    }

    private static TensorSpec? Find(IReadOnlyList<TensorSpec> specs, string name)
    {
        foreach (var s in specs) if (s.Name == name) return s;
        return null;
    }

    private static string Names(IReadOnlyList<TensorSpec> specs)
    {
        var names = new List<string>(Math.Min(specs.Count, 4));
        for (var i = 0; i < specs.Count && i < 4; i++) names.Add($"'{specs[i].Name}'");
        return (names.Count == 0 ? "nothing" : string.Join(", ", names)) + (specs.Count > 4 ? $" and {specs.Count - 4} more" : string.Empty);
    }

    [GeneratedRegex(@"^past_key_values\.(\d+)\.(key|value)$")]
    private static partial Regex PastName();

    [GeneratedRegex(@"^present(?:_key_values)?\.(\d+)\.(key|value)$")]
    private static partial Regex PresentName();
}

/// <summary>One layer's cache tensors.</summary>
internal sealed record KvNames(string PastKey, string PastValue, string PresentKey, string PresentValue);
