namespace ModelKit.Onnx.Text.Generation;

/// <summary>Limits of the text generation engine (<c>ModelKit:Generation</c>), per served model (one deployment, or a model served on demand).</summary>
public sealed class TextGenerationOptions
{
    /// <summary>
    /// The most sequences that share one decoding step (choices of all requests together); more wait for a place.
    /// Default: 32.
    /// </summary>
    public int MaxBatchSequences { get; set; } = 32;

    /// <summary>
    /// The KV-cache memory one served model may use, in bytes: a request is admitted when the batch with it, every
    /// sequence at its longest (prompt + max_tokens), fits twice (a step holds the past and the present cache at once);
    /// otherwise it waits. A request that alone does not fit is refused (INVALID_INPUT). Default: 1 GiB.
    /// </summary>
    public long KvCacheBytes { get; set; } = 1L << 30;

    /// <summary>The most requests that wait for admission per served model; more are refused with QUEUE_FULL. Default: 256.</summary>
    public int MaxQueuedRequests { get; set; } = 256;

    /// <summary>
    /// The most prompt tokens run in one prefill step. A longer prompt is prefilled in pieces between decoding steps,
    /// so running generations keep streaming while it is read. Default: 256.
    /// </summary>
    public int PrefillChunkTokens { get; set; } = 256;

    /// <summary>The most choices (<c>n</c>) one request may ask for. Default: 8.</summary>
    public int MaxChoices { get; set; } = 8;

    /// <summary>How long a generation may take when the request names no timeout. Default: 10 minutes.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Keep each sequence's keys and values between steps (the KV cache). False recomputes the whole sequence at every
    /// step, as a decoder without past inputs must; it exists to measure and check the cache. Default: true.
    /// </summary>
    public bool UseKvCache { get; set; } = true;

    /// <summary>The chat template for models whose files name none (or to override theirs): <c>chatml</c>, <c>llama3</c>, <c>llama2</c>, <c>mistral</c>, <c>gemma</c>, <c>phi3</c>, <c>zephyr</c>. Default: null (detected; ChatML when unknown).</summary>
    public string? ChatTemplate { get; set; }
}
