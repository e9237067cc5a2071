namespace ModelKit.Text;

/// <summary>The embeddings of a <see cref="TextEmbeddingRequest"/>, in the order of its inputs.</summary>
public sealed record TextEmbeddingResult
{
    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version that ran.</summary>
    public required string Version { get; init; }

    /// <summary>One vector per input, in order.</summary>
    public required IReadOnlyList<float[]> Embeddings { get; init; }

    /// <summary>The tokens each input was given to the model as (special tokens included, after truncation).</summary>
    public required IReadOnlyList<int> TokenCounts { get; init; }

    /// <summary>For each input, whether it was cut to <see cref="MaxTokens"/>.</summary>
    public required IReadOnlyList<bool> Truncated { get; init; }

    /// <summary>The sum of <see cref="TokenCounts"/>.</summary>
    public int TotalTokens { get; init; }

    /// <summary>The most tokens the model takes per input.</summary>
    public int MaxTokens { get; init; }

    /// <summary>The length of each vector.</summary>
    public int Dimensions { get; init; }
}
