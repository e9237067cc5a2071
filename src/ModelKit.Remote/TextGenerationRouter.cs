using Microsoft.Extensions.DependencyInjection;
using ModelKit.Text;

namespace ModelKit.Remote;

/// <summary>
/// The host's <see cref="ITextGenerationService"/> once remote models are added: a request for a remote id goes to
/// <see cref="RemoteTextGenerationService"/>, every other one to the local backend registered under
/// <see cref="TextGenerationServiceKeys.Local"/> (ModelKit.Onnx's engine). So every surface, <c>IChatClient</c> and
/// Semantic Kernel reach remote models the way they reach local ones. A remote id hides a local model of the same id.
/// </summary>
internal sealed class TextGenerationRouter(RemoteTextGenerationService remote, IServiceProvider services) : ITextGenerationService
{
    private readonly Lazy<ITextGenerationService?> _local = new(() => services.GetKeyedService<ITextGenerationService>(TextGenerationServiceKeys.Local));

    public Task<TextGenerationResult> GenerateAsync(TextGenerationRequest request, CancellationToken cancellationToken = default) =>
        For(request).GenerateAsync(request, cancellationToken);

    public IAsyncEnumerable<TextGenerationUpdate> GenerateStreamingAsync(TextGenerationRequest request, CancellationToken cancellationToken = default) =>
        For(request).GenerateStreamingAsync(request, cancellationToken);

    public Task<TextGeneratorInfo> DescribeAsync(string modelId, string? version = null, CancellationToken cancellationToken = default) =>
        For(modelId).DescribeAsync(modelId, version, cancellationToken);

    private ITextGenerationService For(TextGenerationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return For(request.ModelId);
    }

    private ITextGenerationService For(string modelId)
    {
        if (remote.Find(modelId) is not null) return remote;
        return _local.Value ?? throw new ModelNotFoundException(
            $"'{(modelId is { Length: > 80 } ? modelId[..80] + "…" : modelId)}' is not one of this server's remote models, and the server has no local text generation backend (AddOnnxRuntime()).");
    }
}
