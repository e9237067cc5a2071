namespace ModelKit.Onnx.Text;

/// <summary>Limits of the text embedding service (<c>ModelKit:Embeddings</c>).</summary>
public sealed class TextEmbeddingOptions
{
    /// <summary>The most inputs one request may have (OpenAI's limit is 2048). Default: 2048.</summary>
    public int MaxInputs { get; set; } = 2048;

    /// <summary>
    /// The most texts one queued chunk holds. Texts of one length bucket are sent in chunks of at most this many; the
    /// queue merges chunks of one bucket up to the deployment's MaxBatchSize. Default: 32.
    /// </summary>
    public int MaxChunkRows { get; set; } = 32;

    /// <summary>
    /// The most tokens (rows × padded length) one queued chunk holds, so one caller's long texts are split into small runs
    /// as the queue's <c>BatchingOptions.MaxBatchElements</c> splits merged ones; a single text longer than it still runs.
    /// Default: 512 (on a CPU, runs of more tokens gain no throughput and widen the latency spread; see docs/benchmarks.md,
    /// "Text embeddings"). On a GPU, raise it with the deployment's MaxBatchElements.
    /// </summary>
    public int MaxChunkTokens { get; set; } = 512;

    /// <summary>
    /// The most chunks of one request waiting in the model's queue at a time: a request of many texts neither fills the
    /// queue (its MaxQueueSize) nor holds back other callers' texts for long. Default: 4.
    /// </summary>
    public int MaxChunksInFlight { get; set; } = 4;

    /// <summary>The most characters one text may have before it is tokenized. Default: 1 000 000.</summary>
    public int MaxTextLength { get; set; } = 1_000_000;
}
