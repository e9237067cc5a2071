using ModelKit.Text;

namespace ModelKit.Onnx.Text;

/// <summary>Creates Microsoft.Extensions.AI embedding generators over models registered at run time.</summary>
/// <param name="service">The text embedding service the generators call.</param>
public sealed class ModelKitEmbeddingGenerators(ITextEmbeddingService service)
{
    /// <summary>A generator over <paramref name="modelId"/>; the model is resolved on each call, so it may be registered later.</summary>
    public ModelKitEmbeddingGenerator Create(string modelId, string? version = null) => new(service, modelId, version);
}
