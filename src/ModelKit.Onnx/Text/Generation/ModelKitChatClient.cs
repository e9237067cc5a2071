using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using ModelKit.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// A ModelKit text decoder as a Microsoft.Extensions.AI <see cref="IChatClient"/>: each call goes through
/// <see cref="ITextGenerationService"/> (the model's continuous batching engine, so concurrent conversations share
/// decoding steps), the messages rendered with the model's chat template; the caller's cancellation stops the
/// generation within one step.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="ChatOptions"/> read: <see cref="ChatOptions.ModelId"/> (another registered model for one call),
/// <see cref="ChatOptions.Instructions"/> (a system message put first), <see cref="ChatOptions.Temperature"/>,
/// <see cref="ChatOptions.TopP"/>, <see cref="ChatOptions.TopK"/>, <see cref="ChatOptions.MaxOutputTokens"/>,
/// <see cref="ChatOptions.Seed"/>, <see cref="ChatOptions.StopSequences"/>, <see cref="ChatOptions.PresencePenalty"/> and
/// <see cref="ChatOptions.FrequencyPenalty"/>; values out of range are refused by the service (INVALID_INPUT).
/// </para>
/// <para>
/// The client is stateless and gives one choice: <see cref="ChatOptions.ConversationId"/> and
/// <see cref="ChatOptions.AdditionalProperties"/> are ignored. Local decoders do not call tools: tools offered with a tool
/// mode other than <see cref="ChatToolMode.None"/>, a JSON response format, and messages holding anything but text
/// (function calls and results, images, data) or spoken by the tool role are refused with a
/// <see cref="NotSupportedException"/> that names them, rather than ignored, so a caller never waits for a tool call that
/// cannot come.
/// </para>
/// </remarks>
public sealed class ModelKitChatClient : IChatClient
{
    /// <summary>The provider name in <see cref="ChatClientMetadata"/>.</summary>
    public const string ProviderName = "modelkit";

    private readonly ITextGenerationService _service;
    private readonly string? _version;
    private readonly TimeProvider _time;
    private readonly ChatClientMetadata _metadata;

    /// <summary>Creates a client over model <paramref name="modelId"/> (at <paramref name="version"/>, or as resolved per call).</summary>
    /// <param name="service">The text generation service.</param>
    /// <param name="modelId">The ModelKit model id of a decoder registered with its tokenizer files.</param>
    /// <param name="version">The model version; null: resolved on each call (the running deployment's, else the default).</param>
    /// <param name="timeProvider">Stamps <see cref="ChatResponse.CreatedAt"/>; null: the system clock.</param>
    public ModelKitChatClient(ITextGenerationService service, string modelId, string? version = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentException.ThrowIfNullOrEmpty(modelId);
        _service = service;
        ModelId = modelId;
        _version = version;
        _time = timeProvider ?? TimeProvider.System;
        _metadata = new ChatClientMetadata(ProviderName, null, modelId);
    }

    /// <summary>The model the client generates with.</summary>
    public string ModelId { get; }

    /// <inheritdoc />
    public async Task<ChatResponse> GetResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var request = CreateRequest(ToMessages(messages, options), null, options);
        var result = await _service.GenerateAsync(request, cancellationToken).ConfigureAwait(false);
        return ToResponse(result);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Updates carry the assistant role and the text as it is decoded; the last one carries the
    /// <see cref="ChatResponseUpdate.FinishReason"/> and the usage as a <see cref="UsageContent"/>, so
    /// <c>ToChatResponse()</c> of the updates equals <see cref="GetResponseAsync"/>'s response.
    /// </remarks>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        StreamAsync(CreateRequest(ToMessages(messages, options), null, options), cancellationToken);

    /// <summary>
    /// Continues <paramref name="prompt"/> as is, without the chat template (a plain completion), with the same options
    /// and the same response as <see cref="GetResponseAsync"/>: the continuation is the assistant message's text.
    /// </summary>
    public async Task<ChatResponse> GetCompletionAsync(string prompt, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        var result = await _service.GenerateAsync(CreateRequest(null, prompt, options), cancellationToken).ConfigureAwait(false);
        return ToResponse(result);
    }

    /// <summary>
    /// Continues <paramref name="prompt"/> as is, without the chat template, yielding the text as it is decoded, as
    /// <see cref="GetStreamingResponseAsync"/> does.
    /// </summary>
    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingCompletionAsync(string prompt, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompt);
        return StreamAsync(CreateRequest(null, prompt, options), cancellationToken);
    }

    /// <summary>Describes the model as a text generator (context length, chat template, end-of-sequence tokens).</summary>
    public Task<TextGeneratorInfo> DescribeAsync(CancellationToken cancellationToken = default) =>
        _service.DescribeAsync(ModelId, _version, cancellationToken);

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null) return null;
        if (serviceType == typeof(ChatClientMetadata)) return _metadata;
        if (serviceType.IsInstanceOfType(this)) return this;
        if (serviceType.IsInstanceOfType(_service)) return _service;
        return null;
    }

    /// <summary>Nothing to release: the model belongs to ModelKit's cache.</summary>
    public void Dispose()
    {
    }

    private async IAsyncEnumerable<ChatResponseUpdate> StreamAsync(
        TextGenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var responseId = NewResponseId();
        var createdAt = _time.GetUtcNow();
        string? finishReason = null;
        await foreach (var update in _service.GenerateStreamingAsync(request, cancellationToken).ConfigureAwait(false))
        {
            finishReason ??= update.FinishReason;
            if (update.Usage is { } usage)
            {
                // The service's last update: the finish reason (given with the choice's last text) and the usage go
                // together here, so that every update before it is text only.
                yield return new ChatResponseUpdate(ChatRole.Assistant, [new UsageContent(ToUsage(usage))])
                {
                    ResponseId = responseId,
                    MessageId = responseId,
                    ModelId = update.ModelId,
                    CreatedAt = createdAt,
                    FinishReason = ToFinishReason(finishReason),
                    RawRepresentation = update,
                };
            }
            else if (update.Text.Length > 0)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, update.Text)
                {
                    ResponseId = responseId,
                    MessageId = responseId,
                    ModelId = update.ModelId,
                    CreatedAt = createdAt,
                    RawRepresentation = update,
                };
            }
        }
    }

    private ChatResponse ToResponse(TextGenerationResult result)
    {
        var choice = result.Choices[0];
        var responseId = NewResponseId();
        var createdAt = _time.GetUtcNow();
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, choice.Text) { MessageId = responseId, CreatedAt = createdAt })
        {
            ResponseId = responseId,
            ModelId = result.ModelId,
            CreatedAt = createdAt,
            FinishReason = ToFinishReason(choice.FinishReason),
            Usage = ToUsage(result.Usage),
            RawRepresentation = result,
            AdditionalProperties = new AdditionalPropertiesDictionary { ["model_version"] = result.Version },
        };
    }

    private TextGenerationRequest CreateRequest(IReadOnlyList<TextChatMessage>? messages, string? prompt, ChatOptions? options)
    {
        if (options is not null) ThrowIfUnsupported(options);
        return new TextGenerationRequest
        {
            ModelId = options?.ModelId ?? ModelId,
            Version = options?.ModelId is null ? _version : null,
            Messages = messages,
            Prompt = prompt,
            MaxTokens = options?.MaxOutputTokens,
            Temperature = options?.Temperature,
            TopP = options?.TopP,
            TopK = options?.TopK,
            Seed = options?.Seed,
            Stop = options?.StopSequences is { Count: > 0 } stop ? [.. stop] : null,
            PresencePenalty = options?.PresencePenalty ?? 0,
            FrequencyPenalty = options?.FrequencyPenalty ?? 0,
        };
    }

    private static void ThrowIfUnsupported(ChatOptions options)
    {
        if (options.Tools is { Count: > 0 } tools && options.ToolMode is not NoneChatToolMode)
        {
            var names = new StringBuilder();
            foreach (var tool in tools) names.Append(names.Length == 0 ? "" : ", ").Append(tool.Name);
            throw new NotSupportedException(
                $"ModelKit's chat client does not call tools, and ChatOptions.Tools offers {tools.Count} ({names}). "
                + "Remove the tools, or set ChatOptions.ToolMode to ChatToolMode.None to keep them without offering them.");
        }

        if (options.ResponseFormat is ChatResponseFormatJson)
        {
            throw new NotSupportedException(
                "ModelKit's chat client cannot constrain the output to JSON (ChatOptions.ResponseFormat is JSON); leave ResponseFormat null or text, and ask for JSON in the prompt.");
        }
    }

    private static List<TextChatMessage> ToMessages(IEnumerable<ChatMessage> messages, ChatOptions? options)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var result = new List<TextChatMessage>();
        if (!string.IsNullOrEmpty(options?.Instructions)) result.Add(new TextChatMessage("system", options.Instructions));
        var index = 0;
        foreach (var message in messages)
        {
            ArgumentNullException.ThrowIfNull(message, nameof(messages));
            if (message.Role == ChatRole.Tool)
            {
                throw new NotSupportedException(
                    $"Message {index} has the tool role; ModelKit's chat client does not call tools, so it takes system, user and assistant messages only.");
            }

            var text = new StringBuilder();
            foreach (var content in message.Contents)
            {
                if (content is TextContent textContent)
                {
                    text.Append(textContent.Text);
                }
                else
                {
                    throw new NotSupportedException(
                        $"Message {index} ({message.Role}) holds a {content.GetType().Name}; ModelKit's chat client takes text only (TextContent).");
                }
            }

            // The service reads the role (system, developer, user, assistant) and refuses others with INVALID_INPUT.
            result.Add(new TextChatMessage(message.Role.Value, text.ToString()));
            index++;
        }

        return result;
    }

    private static UsageDetails ToUsage(TextGenerationUsage usage) => new()
    {
        InputTokenCount = usage.PromptTokens,
        OutputTokenCount = usage.CompletionTokens,
        TotalTokenCount = usage.TotalTokens,
    };

    private static ChatFinishReason? ToFinishReason(string? reason) => reason switch
    {
        null => null,
        TextGenerationFinishReasons.Stop => ChatFinishReason.Stop,
        TextGenerationFinishReasons.Length => ChatFinishReason.Length,
        _ => new ChatFinishReason(reason),
    };

    private static string NewResponseId() => "chatcmpl-" + Guid.NewGuid().ToString("N");
}
