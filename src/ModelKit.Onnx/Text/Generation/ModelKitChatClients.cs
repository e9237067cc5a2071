using ModelKit.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>Creates Microsoft.Extensions.AI chat clients over decoders registered at run time.</summary>
/// <param name="service">The text generation service the clients call.</param>
/// <param name="timeProvider">Stamps the responses; null: the system clock.</param>
public sealed class ModelKitChatClients(ITextGenerationService service, TimeProvider? timeProvider = null)
{
    /// <summary>A client over <paramref name="modelId"/>; the model is resolved on each call, so it may be registered later.</summary>
    public ModelKitChatClient Create(string modelId, string? version = null) => new(service, modelId, version, timeProvider);
}
