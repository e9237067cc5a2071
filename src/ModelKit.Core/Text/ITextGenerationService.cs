namespace ModelKit.Text;

/// <summary>
/// Text generation with a registered decoder (a model stored with its tokenizer files, in the Hugging Face export
/// layout: <c>input_ids</c>, <c>attention_mask</c>, optional <c>position_ids</c>, <c>past_key_values.N.key/value</c> →
/// <c>logits</c>, <c>present.N.key/value</c>). Concurrent generations of one model share each decoding step (continuous
/// batching). Resolves the model like every inference (its running deployment, else on demand). Implemented by
/// ModelKit.Onnx (<c>AddOnnxRuntime()</c> registers it); the HTTP surfaces call it when it is registered.
/// </summary>
public interface ITextGenerationService
{
    /// <summary>
    /// Generates the request's completions and returns them when all have finished. Errors: INVALID_INPUT (no prompt,
    /// an unknown role, a parameter out of range, a prompt or <c>MaxTokens</c> beyond the context), UNSUPPORTED_TASK (the
    /// model has no tokenizer or is not a decoder), MODEL_NOT_FOUND, QUEUE_FULL (too many generations wait for KV-cache
    /// memory), INFERENCE_TIMEOUT, and every inference error.
    /// </summary>
    Task<TextGenerationResult> GenerateAsync(TextGenerationRequest request, CancellationToken cancellationToken = default);

    /// <summary>
    /// Generates the request's completions and yields text as it is produced: updates of each choice in order, one with
    /// its <see cref="TextGenerationUpdate.FinishReason"/> when the choice ends, then one last update carrying
    /// <see cref="TextGenerationUpdate.Usage"/>. The request is validated before the first update (errors are thrown from
    /// the first <c>MoveNextAsync</c>). Cancelling, or disposing the enumerator, stops the generation within one step.
    /// </summary>
    IAsyncEnumerable<TextGenerationUpdate> GenerateStreamingAsync(TextGenerationRequest request, CancellationToken cancellationToken = default);

    /// <summary>What the model is as a text generator; UNSUPPORTED_TASK when it is none, MODEL_NOT_FOUND when missing.</summary>
    Task<TextGeneratorInfo> DescribeAsync(string modelId, string? version = null, CancellationToken cancellationToken = default);
}

/// <summary>A model as a text generator.</summary>
public sealed record TextGeneratorInfo
{
    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version described.</summary>
    public required string Version { get; init; }

    /// <summary>The most tokens a sequence may hold, prompt and completion together.</summary>
    public int ContextLength { get; init; }

    /// <summary>The number of token ids the model knows.</summary>
    public int VocabularySize { get; init; }

    /// <summary>The tokenizer: <c>wordpiece</c>, <c>bpe</c>, <c>tiktoken</c> or <c>sentencepiece</c>.</summary>
    public required string Tokenizer { get; init; }

    /// <summary>The chat template messages are rendered with: <c>chatml</c>, <c>llama3</c>, <c>llama2</c>, … .</summary>
    public required string ChatTemplate { get; init; }

    /// <summary>The token ids that end a generation.</summary>
    public required IReadOnlyList<int> EosTokenIds { get; init; }

    /// <summary>Whether the model keeps a KV cache between steps (<c>past_key_values</c> inputs); false: each step recomputes the whole sequence.</summary>
    public bool KvCache { get; init; }
}
