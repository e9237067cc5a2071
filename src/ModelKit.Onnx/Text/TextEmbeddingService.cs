using ModelKit.Text;
using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using ModelKit.Registry;
using ModelKit.Serving;

namespace ModelKit.Onnx.Text;

/// <summary>
/// The <see cref="ITextEmbeddingService"/>: keeps one <see cref="TextEncoder"/> (tokenizer and pooling, read from the
/// version's files) per model version, dropped when the registry changes the model.
/// </summary>
public sealed class TextEmbeddingService : ITextEmbeddingService, IDisposable
{
    private readonly IModelRouter _router;
    private readonly IModelRegistry _registry;
    private readonly TextEmbeddingOptions _options;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<(string ModelId, string Version), Lazy<Task<TextEncoder>>> _encoders = new();
    private readonly EventHandler<ModelRegistryChange> _onChanged;
    private readonly RequestDurations _durations;

    /// <summary>
    /// Creates the service over the router (which resolves and queues) and the registry (which holds the tokenizer files);
    /// each request's duration goes to ModelKit's meter from <paramref name="meterFactory"/> (or a meter of its own).
    /// </summary>
    public TextEmbeddingService(
        IModelRouter router,
        IModelRegistry registry,
        IOptions<TextEmbeddingOptions>? options = null,
        TimeProvider? timeProvider = null,
        System.Diagnostics.Metrics.IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(registry);
        _router = router;
        _registry = registry;
        _options = options?.Value ?? new TextEmbeddingOptions();
        _time = timeProvider ?? TimeProvider.System;
        _onChanged = (_, change) =>
        {
            foreach (var key in _encoders.Keys)
            {
                if (key.ModelId == change.ModelId) _encoders.TryRemove(key, out Lazy<Task<TextEncoder>>? _);
            }
        };
        registry.Changed += _onChanged;
        _durations = new RequestDurations(meterFactory);
    }

    /// <summary>Stops listening to the registry.</summary>
    public void Dispose()
    {
        _registry.Changed -= _onChanged;
        _durations.Dispose();
    }

    /// <inheritdoc />
    public async Task<TextEmbeddingResult> EmbedAsync(TextEmbeddingRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = _time.GetTimestamp();
        var count = CheckShape(request);
        var model = await _router.ResolveAsync(request.ModelId, request.Version, cancellationToken).ConfigureAwait(false);
        var encoder = await GetEncoderAsync(model.ModelId, model.Version, model.Signature, cancellationToken).ConfigureAwait(false);
        if (request.Dimensions is { } d && (d < 1 || (encoder.Dimensions is { } full && d > full)))
        {
            throw new InvalidInputException(
                $"'dimensions' is {d}; model '{model.ModelId}' gives vectors of {encoder.Dimensions?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "its own"} values, so ask for 1 to that many.");
        }

        var texts = new TokenizedText[count];
        for (var i = 0; i < count; i++)
        {
            texts[i] = Tokenize(encoder, request, i);
            if (texts[i].Ids.Length == 0)
            {
                throw new InvalidInputException($"input[{i}] has no tokens: model '{model.ModelId}' tokenizes it to nothing (only spaces or characters it drops).");
            }

            if (!request.Truncate && texts[i].Truncated)
            {
                throw new InvalidInputException(
                    $"input[{i}] has more than {encoder.MaxTokens} tokens; model '{model.ModelId}' takes at most {encoder.MaxTokens} (turn truncation on to cut it).");
            }
        }

        var vectors = await encoder.EmbedAsync(
            model, texts, request.Normalize ?? encoder.Config.Normalize, request.Dimensions, _options.MaxChunkRows, _options.MaxChunkTokens, _options.MaxChunksInFlight,
            request.Priority, request.Timeout, _time, cancellationToken).ConfigureAwait(false);
        var tokenCounts = new int[count];
        var truncated = new bool[count];
        var total = 0;
        for (var i = 0; i < count; i++)
        {
            tokenCounts[i] = texts[i].Ids.Length;
            truncated[i] = texts[i].Truncated;
            total += tokenCounts[i];
        }

        _durations.Record(_time.GetElapsedTime(started), model.ModelId);
        return new TextEmbeddingResult
        {
            ModelId = model.ModelId,
            Version = model.Version,
            Embeddings = vectors,
            TokenCounts = tokenCounts,
            Truncated = truncated,
            TotalTokens = total,
            MaxTokens = encoder.MaxTokens,
            Dimensions = vectors.Length > 0 ? vectors[0].Length : 0,
        };
    }

    /// <inheritdoc />
    public async Task<TextEncoderInfo> DescribeAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        var model = await _router.ResolveAsync(modelId, version, cancellationToken).ConfigureAwait(false);
        var encoder = await GetEncoderAsync(model.ModelId, model.Version, model.Signature, cancellationToken).ConfigureAwait(false);
        return new TextEncoderInfo
        {
            ModelId = model.ModelId,
            Version = model.Version,
            Dimensions = encoder.Dimensions,
            MaxTokens = encoder.MaxTokens,
            Tokenizer = encoder.Tokenizer.Format,
            VocabularySize = encoder.Tokenizer.VocabularySize,
            Pooling = encoder.Config.Pooling switch
            {
                TextPooling.Cls => "cls",
                TextPooling.Max => "max",
                TextPooling.MeanSqrtLength => "mean_sqrt_len",
                _ => "mean",
            },
            Normalize = encoder.Config.Normalize,
        };
    }

    // The checks that need no model: one kind of input, not empty, not too many, no empty text.
    private int CheckShape(TextEmbeddingRequest request)
    {
        if (request.Texts is not null == request.TokenIds is not null)
        {
            throw new InvalidInputException("Send the input either as texts or as token ids, not both and not neither.");
        }

        var count = request.Texts?.Count ?? request.TokenIds!.Count;
        if (count == 0) throw new InvalidInputException("'input' is empty: send at least one text.");
        if (count > _options.MaxInputs)
        {
            throw new InvalidInputException($"'input' has {count} entries; at most {_options.MaxInputs} are allowed in one request.");
        }

        for (var i = 0; i < count; i++)
        {
            if (request.Texts is { } texts)
            {
                if (string.IsNullOrEmpty(texts[i])) throw new InvalidInputException($"input[{i}] is an empty string; every text needs at least one character.");
                if (texts[i].Length > _options.MaxTextLength)
                {
                    throw new InvalidInputException($"input[{i}] has {texts[i].Length} characters; at most {_options.MaxTextLength} are allowed.");
                }
            }
            else if (request.TokenIds![i] is not { Count: > 0 })
            {
                throw new InvalidInputException($"input[{i}] is an empty token list; every input needs at least one token.");
            }
        }

        return count;
    }

    private static TokenizedText Tokenize(TextEncoder encoder, TextEmbeddingRequest request, int index)
    {
        if (request.Texts is { } texts)
        {
            try
            {
                return encoder.Tokenizer.Encode(texts[index], encoder.MaxTokens);
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
            {
                throw new InvalidModelConfigException(
                    $"The model's tokenizer took too long on input[{index}]: a regular expression in its tokenizer.json backtracks without end on this text.");
            }
        }

        var ids = request.TokenIds![index];
        if (encoder.Tokenizer.FirstUnknownId(ids) is var at and >= 0)
        {
            throw new InvalidInputException(
                $"input[{index}]: token id {ids[at]} at position {at} is not in the vocabulary (0..{encoder.Tokenizer.VocabularySize - 1}).");
        }

        return encoder.Tokenizer.FromIds(ids, encoder.MaxTokens);
    }

    private async Task<TextEncoder> GetEncoderAsync(string modelId, string version, ModelKit.Tensors.ModelSignature? signature, CancellationToken cancellationToken)
    {
        var key = (modelId, version);
        if (!_encoders.TryGetValue(key, out var lazy))
        {
            lazy = _encoders.GetOrAdd(key, new Lazy<Task<TextEncoder>>(() => LoadAsync(modelId, version, signature)));
        }
        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (lazy.Value.IsFaulted && ex is not (UnsupportedTaskException or InvalidModelConfigException))
        {
            // A transient failure (a file being replaced, the registry busy): a later request tries again. A version that
            // is no text encoder, or whose tokenizer files cannot be read, stays so until the registry changes the model,
            // which drops the entry; its files are not read again on every request.
            _encoders.TryRemove(new KeyValuePair<(string, string), Lazy<Task<TextEncoder>>>(key, lazy));
            throw;
        }
    }

    private async Task<TextEncoder> LoadAsync(string modelId, string version, ModelKit.Tensors.ModelSignature? signature)
    {
        var model = await _registry.GetModelAsync(modelId, CancellationToken.None).ConfigureAwait(false);
        var info = model.FindVersion(version) ?? throw new ModelNotFoundException($"Model '{modelId}' has no version '{version}'.");
        return TextEncoder.Create(modelId, signature ?? info.Signature, ModelTokenizers.FilesOf(info.Files));
    }
}
