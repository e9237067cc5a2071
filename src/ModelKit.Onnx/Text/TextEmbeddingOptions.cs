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

    /// <summary>The most characters one text may have before it is tokenized. Default: 1 000 000.</summary>
    public int MaxTextLength { get; set; } = 1_000_000;
}
