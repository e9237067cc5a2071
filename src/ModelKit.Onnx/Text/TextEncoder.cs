using System.Numerics.Tensors;
using ModelKit.Scheduling;
using ModelKit.Serving;
using ModelKit.Tensors;
using Tensor = ModelKit.Tensors.Tensor;

namespace ModelKit.Onnx.Text;

/// <summary>
/// One model version as a sentence encoder: its tokenizer, its pooling, and which inputs and output it has. Texts are
/// sorted by length and cut into chunks of similar length; each chunk is padded to its bucket (see <see cref="PaddedLength"/>)
/// and sent through the model's batch queue as one request, so that chunks of the same bucket from concurrent callers merge
/// into one run, and short texts never wait on long ones.
/// </summary>
internal sealed class TextEncoder
{
    private readonly string _idsName;
    private readonly TensorElementType _idsType;
    private readonly string? _maskName;
    private readonly TensorElementType _maskType;
    private readonly string? _typeIdsName;
    private readonly TensorElementType _typeIdsType;
    private readonly int? _fixedRows;
    private readonly string _outputName;
    private readonly bool _outputIsPooled;
    private readonly int? _fixedLength;

    private TextEncoder(
        ModelTokenizer tokenizer, TextEncoderConfig config, string idsName, TensorElementType idsType, TensorSpec? mask, TensorSpec? typeIds,
        string outputName, bool outputIsPooled, int? fixedRows, int? fixedLength, int maxTokens, int? dimensions)
    {
        Tokenizer = tokenizer;
        Config = config;
        _idsName = idsName;
        _idsType = idsType;
        _maskName = mask?.Name;
        _maskType = mask?.ElementType ?? idsType;
        _typeIdsName = typeIds?.Name;
        _typeIdsType = typeIds?.ElementType ?? idsType;
        _fixedRows = fixedRows;
        _outputName = outputName;
        _outputIsPooled = outputIsPooled;
        _fixedLength = fixedLength;
        MaxTokens = maxTokens;
        Dimensions = dimensions;
    }

    public ModelTokenizer Tokenizer { get; }

    public TextEncoderConfig Config { get; }

    /// <summary>The most tokens one text may have, special tokens included.</summary>
    public int MaxTokens { get; }

    /// <summary>The length of the model's embeddings, when the signature or the pooling config says; else null until a run.</summary>
    public int? Dimensions { get; }

    /// <summary>Builds the encoder of a model version; UNSUPPORTED_TASK when the model cannot embed text.</summary>
    public static TextEncoder Create(string modelId, ModelSignature? signature, IReadOnlyDictionary<string, string> files)
    {
        var tokenizer = ModelTokenizers.Load(files) ?? throw new UnsupportedTaskException(
            $"Model '{modelId}' has no tokenizer among its files (tokenizer.json, vocab.txt, vocab.json with merges.txt, *.tiktoken or tokenizer.model), so it cannot embed text; send tensors to its inference endpoints instead.");
        if (signature is null) throw new UnsupportedTaskException($"Model '{modelId}' has no known inputs and outputs, so it cannot embed text.");

        var ids = signature.FindInput("input_ids") ?? throw new UnsupportedTaskException(
            $"Model '{modelId}' has no 'input_ids' input, so it is not a text encoder (its inputs: {Names(signature.Inputs)}).");
        if (ids.ElementType is not (TensorElementType.Int64 or TensorElementType.Int32) || ids.Shape.Count != 2)
        {
            throw new UnsupportedTaskException($"Model '{modelId}': input 'input_ids' is {ids.Describe()}; a text encoder takes int64[batch, sequence].");
        }

        foreach (var input in signature.Inputs)
        {
            if (input.Name is not ("input_ids" or "attention_mask" or "token_type_ids"))
            {
                throw new UnsupportedTaskException($"Model '{modelId}' has input '{input.Name}', which a text encoder does not fill (known: input_ids, attention_mask, token_type_ids).");
            }

            if (input.ElementType is not (TensorElementType.Int64 or TensorElementType.Int32) || input.Shape.Count != 2)
            {
                throw new UnsupportedTaskException($"Model '{modelId}': input '{input.Name}' is {input.Describe()}; a text encoder takes int64 or int32 [batch, sequence].");
            }
        }

        // The token vectors to pool: last_hidden_state / token_embeddings, else the first float [batch, sequence, hidden]
        // output; a model that pools inside its graph has a float [batch, hidden] 'sentence_embedding' output instead.
        TensorSpec? output = null;
        var pooled = false;
        foreach (var o in signature.Outputs)
        {
            if (o.ElementType != TensorElementType.Float32) continue;
            if (o.Name is "sentence_embedding" && o.Shape.Count == 2)
            {
                output = o;
                pooled = true;
                break;
            }

            if (o.Shape.Count == 3 && (output is null || o.Name is "last_hidden_state" or "token_embeddings")) output = o;
        }

        if (output is null)
        {
            throw new UnsupportedTaskException(
                $"Model '{modelId}' has no float output of token vectors ([batch, sequence, hidden], such as 'last_hidden_state') to pool, so it cannot embed text.");
        }

        var config = TextEncoderConfig.Read(files);
        int? fixedLength = ids.Shape[1] > 0 ? (int)ids.Shape[1] : null;
        int? fixedRows = ids.Shape[0] > 0 ? (int)ids.Shape[0] : null; // an export with a fixed batch (usually 1) takes that many rows
        var maxTokens = fixedLength ?? Math.Min(config.MaxSequenceLength ?? tokenizer.ModelMaxLength ?? 512, tokenizer.ModelMaxLength ?? int.MaxValue);
        var last = output.Shape[^1];
        int? dimensions = last > 0 ? (int)last : config.Dimensions;
        return new TextEncoder(
            tokenizer, config, ids.Name, ids.ElementType, signature.FindInput("attention_mask"), signature.FindInput("token_type_ids"),
            output.Name, pooled, fixedRows, fixedLength, Math.Max(maxTokens, tokenizer.Prefix.Count + tokenizer.Suffix.Count + 1), dimensions);
    }

    /// <summary>
    /// The length a chunk whose longest text has <paramref name="length"/> tokens is padded to: the next multiple of 8 up
    /// to 64 tokens, of 16 up to 128, of 32 up to 256, of 64 beyond; never more than <see cref="MaxTokens"/>. Chunks of one
    /// bucket have the same shape, so the queue merges them across callers; padding wastes at most one step.
    /// </summary>
    public int PaddedLength(int length)
    {
        if (_fixedLength is { } fixedLength) return fixedLength;
        length = Math.Max(1, length);
        var step = length <= 64 ? 8 : length <= 128 ? 16 : length <= 256 ? 32 : 64;
        return Math.Min(MaxTokens, (length + step - 1) / step * step);
    }

    /// <summary>
    /// Embeds the texts (already tokenized) in order; each vector has <paramref name="dimensions"/> values, or all of them.
    /// At most <paramref name="inFlight"/> chunks of one call wait in the queue at a time, so a large request neither
    /// fills the queue nor holds back other callers' texts; <paramref name="timeout"/> bounds the whole call, and the
    /// first chunk that fails cancels the others.
    /// </summary>
    public async Task<float[][]> EmbedAsync(
        IServedModel model, TokenizedText[] texts, bool normalize, int? dimensions, int maxRows, int maxTokens, int inFlight,
        RequestPriority? priority, TimeSpan? timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        // Sort by length and cut into chunks of one bucket, at most maxRows texts and maxTokens padded tokens (at least one text).
        if (_fixedRows is { } fixedRows) maxRows = fixedRows;
        var order = new int[texts.Length];
        var lengths = new int[texts.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            order[i] = i;
            lengths[i] = texts[i].Ids.Length;
        }

        Array.Sort(lengths, order);
        var chunks = new List<(int Start, int Count, int Padded)>();
        for (var start = 0; start < order.Length;)
        {
            var bucket = PaddedLength(lengths[start]);
            var rows = Math.Min(maxRows, Math.Max(1, maxTokens / bucket));
            var end = start + 1;
            while (end < order.Length && end - start < rows && PaddedLength(lengths[end]) == bucket) end++;
            chunks.Add((start, end - start, bucket));
            start = end;
        }

        var results = new float[texts.Length][];
        var deadline = timeout is { } t && t != Timeout.InfiniteTimeSpan ? time.GetTimestamp() + (long)(t.TotalSeconds * time.TimestampFrequency) : (long?)null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Exception? firstError = null;
        var next = -1;

        async Task WorkAsync()
        {
            int c;
            while ((c = Interlocked.Increment(ref next)) < chunks.Count)
            {
                var (start, count, padded) = chunks[c];
                TimeSpan? left = null;
                if (deadline is { } end)
                {
                    left = TimeSpan.FromSeconds((end - time.GetTimestamp()) / (double)time.TimestampFrequency);
                    if (left <= TimeSpan.Zero) throw new InferenceTimeoutException($"Embedding {texts.Length} inputs with model '{model.ModelId}' took longer than the request's timeout of {timeout!.Value.TotalSeconds:0.###} s.");
                }

                await RunChunkAsync(model, texts, order.AsMemory(start, count), padded, results, normalize, dimensions, priority, left, stop.Token).ConfigureAwait(false);
            }
        }

        async Task GuardedAsync()
        {
            try
            {
                await WorkAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested || cancellationToken.IsCancellationRequested)
            {
                Interlocked.CompareExchange(ref firstError, ex, null);
                await stop.CancelAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Stopped because another chunk failed: that failure is the answer.
            }
        }

        var workers = new Task[Math.Min(Math.Max(1, inFlight), chunks.Count)];
        for (var w = 0; w < workers.Length; w++) workers[w] = GuardedAsync();
        await Task.WhenAll(workers).ConfigureAwait(false);
        if (firstError is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstError);
        return results;
    }

    private async Task RunChunkAsync(
        IServedModel model, TokenizedText[] texts, ReadOnlyMemory<int> members, int padded, float[][] results, bool normalize, int? dimensions,
        RequestPriority? priority, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        var rows = members.Length;
        var inputs = BuildInputs(texts, members.Span, padded);
        var outputs = await model.InferAsync(inputs, priority, timeout, cancellationToken).ConfigureAwait(false);
        if (!outputs.TryGetValue(_outputName, out var output) || output.ElementType != TensorElementType.Float32)
        {
            throw new InferenceFailedException($"Model '{model.ModelId}' returned no float output '{_outputName}'.");
        }

        var values = output.AsSpan<float>();
        var span = members.Span;
        if (_outputIsPooled)
        {
            var hidden = (int)output.Shape[1];
            for (var r = 0; r < rows; r++) results[span[r]] = Finish(values.Slice(r * hidden, hidden).ToArray(), normalize, dimensions);
            return;
        }

        var length = (int)output.Shape[1];
        var width = (int)output.Shape[2];
        for (var r = 0; r < rows; r++)
        {
            var tokens = texts[span[r]].Ids.Length;
            var vector = Pool(values.Slice(r * length * width, length * width), tokens, width);
            results[span[r]] = Finish(vector, normalize, dimensions);
        }
    }

    private Dictionary<string, Tensor> BuildInputs(TokenizedText[] texts, ReadOnlySpan<int> members, int padded)
    {
        var rows = members.Length;
        var shape = new long[] { rows, padded };
        var ids = Tensor.Allocate(_idsType, shape);
        var inputs = new Dictionary<string, Tensor>(3, StringComparer.Ordinal) { [_idsName] = ids };
        Tensor? mask = _maskName is null ? null : Tensor.Allocate(_maskType, shape);
        if (mask is not null) inputs[_maskName!] = mask;
        if (_typeIdsName is not null) inputs[_typeIdsName] = Tensor.Allocate(_typeIdsType, shape); // zeros: one segment
        var pad = Tokenizer.PadTokenId;
        for (var r = 0; r < rows; r++)
        {
            var text = texts[members[r]].Ids;
            var offset = r * padded;
            if (_idsType == TensorElementType.Int64)
            {
                var idSpan = ids.AsSpan<long>().Slice(offset, padded);
                for (var t = 0; t < padded; t++) idSpan[t] = t < text.Length ? text[t] : pad;
            }
            else
            {
                var idSpan = ids.AsSpan<int>().Slice(offset, padded);
                for (var t = 0; t < padded; t++) idSpan[t] = t < text.Length ? text[t] : pad;
            }

            if (mask is null) continue;
            if (_maskType == TensorElementType.Int64) mask.AsSpan<long>().Slice(offset, text.Length).Fill(1);
            else mask.AsSpan<int>().Slice(offset, text.Length).Fill(1);
        }

        return inputs;
    }

    // The token vectors of one text ([length, width], of which the first `tokens` are the text's) pooled into one vector.
    private float[] Pool(ReadOnlySpan<float> tokenVectors, int tokens, int width)
    {
        var vector = new float[width];
        switch (Config.Pooling)
        {
            case TextPooling.Cls:
                tokenVectors[..width].CopyTo(vector);
                break;
            case TextPooling.Max:
                tokenVectors[..width].CopyTo(vector);
                for (var t = 1; t < tokens; t++) TensorPrimitives.Max(vector, tokenVectors.Slice(t * width, width), vector);
                break;
            default:
                for (var t = 0; t < tokens; t++) TensorPrimitives.Add(vector, tokenVectors.Slice(t * width, width), vector);
                var divisor = Config.Pooling == TextPooling.MeanSqrtLength ? MathF.Sqrt(tokens) : tokens;
                TensorPrimitives.Divide(vector, divisor, vector);
                break;
        }

        return vector;
    }

    // Cut to `dimensions` (Matryoshka-style: the first values) and scale to unit length when asked.
    private static float[] Finish(float[] vector, bool normalize, int? dimensions)
    {
        if (dimensions is { } d && d < vector.Length) vector = vector[..d];
        if (normalize)
        {
            var norm = TensorPrimitives.Norm(vector);
            if (norm > 0) TensorPrimitives.Divide(vector, norm, vector);
        }

        return vector;
    }

    private static string Names(IReadOnlyList<TensorSpec> specs)
    {
        var names = new string[specs.Count];
        for (var i = 0; i < names.Length; i++) names[i] = specs[i].Name;
        return string.Join(", ", names);
    }
}
