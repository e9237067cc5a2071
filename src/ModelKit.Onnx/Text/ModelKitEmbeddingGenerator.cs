using ModelKit.Text;
using Microsoft.Extensions.AI;

namespace ModelKit.Onnx.Text;

/// <summary>
/// A ModelKit text encoder as a Microsoft.Extensions.AI <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>: each call
/// goes through <see cref="ITextEmbeddingService"/> (the model's batch queue, so concurrent callers share batches), and the
/// caller's cancellation reaches the queue and the run. <see cref="EmbeddingGenerationOptions.Dimensions"/> asks for
/// shorter vectors; <see cref="EmbeddingGenerationOptions.ModelId"/> picks another registered model for one call.
/// </summary>
public sealed class ModelKitEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private readonly ITextEmbeddingService _service;
    private readonly string? _version;
    private EmbeddingGeneratorMetadata _metadata;

    /// <summary>Creates a generator over model <paramref name="modelId"/> (at <paramref name="version"/>, or as resolved per call).</summary>
    public ModelKitEmbeddingGenerator(ITextEmbeddingService service, string modelId, string? version = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        _service = service;
        ModelId = modelId;
        _version = version;
        _metadata = new EmbeddingGeneratorMetadata("modelkit", null, modelId);
    }

    /// <summary>The model the generator embeds with.</summary>
    public string ModelId { get; }

    /// <inheritdoc />
    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values as IReadOnlyList<string> ?? [.. values];
        var result = await _service.EmbedAsync(
            new TextEmbeddingRequest
            {
                ModelId = options?.ModelId ?? ModelId,
                Version = options?.ModelId is null ? _version : null,
                Texts = texts,
                Dimensions = options?.Dimensions,
            },
            cancellationToken).ConfigureAwait(false);
        if (options?.ModelId is null && _metadata.DefaultModelDimensions is null && options?.Dimensions is null)
        {
            _metadata = new EmbeddingGeneratorMetadata("modelkit", null, ModelId, result.Dimensions);
        }

        var embeddings = new List<Embedding<float>>(result.Embeddings.Count);
        foreach (var vector in result.Embeddings)
        {
            embeddings.Add(new Embedding<float>(vector) { ModelId = result.ModelId });
        }

        return new GeneratedEmbeddings<Embedding<float>>(embeddings)
        {
            Usage = new UsageDetails { InputTokenCount = result.TotalTokens, TotalTokenCount = result.TotalTokens },
            AdditionalProperties = new AdditionalPropertiesDictionary
            {
                ["model_version"] = result.Version,
                ["truncated_inputs"] = CountTrue(result.Truncated),
            },
        };
    }

    /// <summary>
    /// Describes the model (dimensions, maximum tokens, tokenizer) and updates the metadata <see cref="GetService"/>
    /// returns; the dimensions are also learned from the first call.
    /// </summary>
    public async Task<TextEncoderInfo> DescribeAsync(CancellationToken cancellationToken = default)
    {
        var info = await _service.DescribeAsync(ModelId, _version, cancellationToken).ConfigureAwait(false);
        _metadata = new EmbeddingGeneratorMetadata("modelkit", null, ModelId, info.Dimensions);
        return info;
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(EmbeddingGeneratorMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_service)) return _service;
        return null;
    }

    /// <summary>Nothing to release: the model belongs to ModelKit's cache.</summary>
    public void Dispose()
    {
    }

    private static int CountTrue(IReadOnlyList<bool> flags)
    {
        var count = 0;
        foreach (var flag in flags) count += flag ? 1 : 0;
        return count;
    }
}
