namespace ModelKit.Text;

/// <summary>
/// Sentence embeddings from a registered text encoder (a model stored with its tokenizer files): text → tokens
/// (truncated at the model's limit) → the model through its batch queue → pooling → optional L2 normalisation.
/// Resolves the model like every inference (its running deployment, else on demand). Implemented by ModelKit.Onnx
/// (<c>AddOnnxRuntime()</c> registers it); the HTTP surfaces call it when it is registered.
/// </summary>
public interface ITextEmbeddingService
{
    /// <summary>
    /// Embeds the request's texts or token ids. Errors: INVALID_INPUT (no input, an empty text, too many inputs, a text
    /// too long with truncation off, a token id outside the vocabulary, <c>Dimensions</c> out of range), UNSUPPORTED_TASK
    /// (the model has no tokenizer or is not a text encoder), MODEL_NOT_FOUND, and every inference error.
    /// </summary>
    Task<TextEmbeddingResult> EmbedAsync(TextEmbeddingRequest request, CancellationToken cancellationToken = default);

    /// <summary>What the model is as a text encoder; UNSUPPORTED_TASK when it is none, MODEL_NOT_FOUND when missing.</summary>
    Task<TextEncoderInfo> DescribeAsync(string modelId, string? version = null, CancellationToken cancellationToken = default);
}

/// <summary>A model as a text encoder.</summary>
public sealed record TextEncoderInfo
{
    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version described.</summary>
    public required string Version { get; init; }

    /// <summary>The length of its vectors; null when neither its signature nor its files say (known after a run).</summary>
    public int? Dimensions { get; init; }

    /// <summary>The most tokens one input may have, special tokens included.</summary>
    public int MaxTokens { get; init; }

    /// <summary>The tokenizer: <c>wordpiece</c>, <c>bpe</c>, <c>tiktoken</c> or <c>sentencepiece</c>.</summary>
    public required string Tokenizer { get; init; }

    /// <summary>The number of token ids the model knows.</summary>
    public int VocabularySize { get; init; }

    /// <summary>The pooling: <c>mean</c>, <c>cls</c>, <c>max</c> or <c>mean_sqrt_len</c>.</summary>
    public required string Pooling { get; init; }

    /// <summary>Whether vectors are scaled to unit length by default.</summary>
    public bool Normalize { get; init; }
}
