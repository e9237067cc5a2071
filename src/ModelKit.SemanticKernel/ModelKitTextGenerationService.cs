using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.Services;
using ModelKit.Onnx.Text.Generation;
using SKTextContent = Microsoft.SemanticKernel.TextContent;
using SKTextGenerationService = Microsoft.SemanticKernel.TextGeneration.ITextGenerationService;

namespace ModelKit.SemanticKernel;

/// <summary>
/// Semantic Kernel's text generation (a prompt continued as is, no chat template) over a
/// <see cref="ModelKitChatClient"/>'s completion: the execution settings become <see cref="ChatOptions"/> through Semantic
/// Kernel's own mapping (<c>temperature</c>, <c>top_p</c>, <c>top_k</c>, <c>max_tokens</c>, <c>seed</c>,
/// <c>stop_sequences</c>, <c>presence_penalty</c>, <c>frequency_penalty</c>, <c>model_id</c> in the extension data), so the
/// two services read settings alike. One completion per call.
/// </summary>
internal sealed class ModelKitTextGenerationService(ModelKitChatClient client) : SKTextGenerationService
{
    private readonly Dictionary<string, object?> _attributes = new() { [AIServiceExtensions.ModelIdKey] = client.ModelId };

    /// <summary>The ModelKit client completions go through.</summary>
    public ModelKitChatClient Client => client;

    public IReadOnlyDictionary<string, object?> Attributes => _attributes;

    public async Task<IReadOnlyList<SKTextContent>> GetTextContentsAsync(
        string prompt, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var response = await client.GetCompletionAsync(prompt, executionSettings.ToChatOptions(kernel), cancellationToken).ConfigureAwait(false);
        var metadata = new Dictionary<string, object?>
        {
            ["Id"] = response.ResponseId,
            ["CreatedAt"] = response.CreatedAt,
            ["FinishReason"] = response.FinishReason?.Value,
            ["Usage"] = response.Usage,
        };
        return [new SKTextContent(response.Text, response.ModelId, response, metadata: metadata)];
    }

    public async IAsyncEnumerable<StreamingTextContent> GetStreamingTextContentsAsync(
        string prompt, PromptExecutionSettings? executionSettings = null, Kernel? kernel = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var options = executionSettings.ToChatOptions(kernel);
        await foreach (var update in client.GetStreamingCompletionAsync(prompt, options, cancellationToken).ConfigureAwait(false))
        {
            Dictionary<string, object?>? metadata = null;
            if (update.FinishReason is { } finish)
            {
                metadata = new Dictionary<string, object?> { ["FinishReason"] = finish.Value };
                foreach (var content in update.Contents)
                {
                    if (content is UsageContent usage) metadata["Usage"] = usage.Details;
                }
            }

            yield return new StreamingTextContent(update.Text, 0, update.ModelId, update, metadata: metadata);
        }
    }
}
