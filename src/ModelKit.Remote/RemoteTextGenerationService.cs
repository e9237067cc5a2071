using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Text;
using OpenAI.Chat;

namespace ModelKit.Remote;

/// <summary>
/// Serves the configured remote models (<see cref="RemoteModelsOptions"/>) through their providers' OpenAI Chat
/// Completions API, with the official <c>OpenAI</c> client: a <see cref="TextGenerationRequest"/> becomes one chat
/// completion request per choice (<c>n</c> runs as that many requests, with seeds <c>seed</c>, <c>seed + 1</c> …), streamed
/// when the caller streams. Requests are validated as local ones are (<see cref="TextGenerationParameters"/>) before the
/// provider is called. A prompt (text completion) is sent as one user message; token-id prompts are refused, as the
/// provider's tokenizer is unknown here. Registered by <c>AddRemoteModels</c>, which puts it behind the host's
/// <see cref="ITextGenerationService"/> for the remote ids; usable without DI.
/// </summary>
public sealed class RemoteTextGenerationService : ITextGenerationService, IRemoteModelCatalog
{
    private readonly Dictionary<string, RemoteModel> _models;
    private readonly IReadOnlyList<RemoteModelInfo> _listed;
    private readonly int _maxChoices;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    /// <summary>Creates the service over <paramref name="options"/>' models; nothing is contacted until a request comes.</summary>
    public RemoteTextGenerationService(IOptions<RemoteModelsOptions> options, ILogger<RemoteTextGenerationService>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var value = options.Value;
        var errors = new RemoteModelsOptionsValidator().Validate(null, value);
        if (errors.Failed) throw new OptionsValidationException(nameof(RemoteModelsOptions), typeof(RemoteModelsOptions), errors.Failures);
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<RemoteTextGenerationService>.Instance;
        _maxChoices = value.MaxChoices;
        var now = _time.GetUtcNow();
        _models = new Dictionary<string, RemoteModel>(StringComparer.Ordinal);
        foreach (var (id, model) in value.Models) _models[id] = new RemoteModel(id, model, value, now);
        _listed = [.. _models.Values.Select(m => m.Info).OrderBy(m => m.Id, StringComparer.Ordinal)];
        if (_models.Count > 0 && _logger.IsEnabled(LogLevel.Information))
        {
            var ids = string.Join(", ", _listed.Select(m => m.Id));
            Log.RemoteModelsConfigured(_logger, _models.Count, ids);
        }
    }

    /// <inheritdoc />
    public IReadOnlyList<RemoteModelInfo> Models => _listed;

    /// <inheritdoc />
    public RemoteModelInfo? Find(string modelId) => modelId is not null && _models.TryGetValue(modelId, out var model) ? model.Info : null;

    /// <inheritdoc />
    public RemoteModelStats GetStats(string modelId) => ModelOf(modelId).Stats;

    /// <inheritdoc />
    public async Task<TextGenerationResult> GenerateAsync(TextGenerationRequest request, CancellationToken cancellationToken = default)
    {
        var model = Prepare(request, out var messages);
        using var call = new RemoteCall(model, request.Timeout, _time, _logger, cancellationToken);
        var started = _time.GetTimestamp();
        var calls = new Task<Answer>[request.N];
        for (var i = 0; i < calls.Length; i++) calls[i] = AnswerAsync(model, messages, OptionsFor(model, request, i), request.LogProbs, call);
        Answer[] answers;
        try
        {
            answers = await Task.WhenAll(calls).ConfigureAwait(false);
        }
        catch (Exception ex) when (call.Failure is { } failure && !ReferenceEquals(failure, ex) && failure is not OperationCanceledException)
        {
            throw failure; // the first choice to fail says why (the others were stopped by it)
        }

        var choices = new TextGenerationChoice[answers.Length];
        var completionTokens = 0;
        for (var i = 0; i < choices.Length; i++)
        {
            var answer = answers[i];
            choices[i] = new TextGenerationChoice { Index = i, Text = answer.Text, TokenIds = [], FinishReason = answer.FinishReason, LogProbs = answer.LogProbs };
            completionTokens += answer.Usage?.OutputTokenCount ?? 0;
        }

        model.Succeeded(_time.GetElapsedTime(started));
        return new TextGenerationResult
        {
            ModelId = model.Info.Id,
            Version = VersionOf(answers[0].Model, model),
            Choices = choices,
            Usage = new TextGenerationUsage(answers[0].Usage?.InputTokenCount ?? 0, completionTokens),
        };
    }

    /// <inheritdoc />
    public IAsyncEnumerable<TextGenerationUpdate> GenerateStreamingAsync(TextGenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return StreamAsync(request, cancellationToken);
    }

    /// <summary>A remote model is described by its provider, not here: UNSUPPORTED_TASK (MODEL_NOT_FOUND for other ids).</summary>
    public Task<TextGeneratorInfo> DescribeAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        var model = ModelOf(modelId);
        throw new UnsupportedTaskException(
            $"{model.Describe()} is served by its provider: its tokenizer, chat template and context are the provider's and not known to this server.");
    }

    // One choice, whole: read inside the try, so that an answer without choices or with a reason ModelKit cannot serve is
    // the provider's failure (PROVIDER_UNAVAILABLE), and the first failure stops the other choices at once.
    private static async Task<Answer> AnswerAsync(RemoteModel model, List<ChatMessage> messages, ChatCompletionOptions options, bool logprobs, RemoteCall call)
    {
        using var timer = call.StartAnswerTimer();
        try
        {
            var completion = (await model.Client.CompleteChatAsync(messages, options, timer.Token).ConfigureAwait(false)).Value
                ?? throw new InvalidOperationException("The provider answered without a chat completion.");
            return new Answer(
                TextOf(completion.Content), FinishReasonOf(completion.FinishReason, model), logprobs ? LogProbsOf(completion.ContentTokenLogProbabilities) : null,
                completion.Usage, completion.Model);
        }
        catch (Exception ex)
        {
            call.Fail(ex, timer);
            throw;
        }
    }

    // Choices stream concurrently into one channel, each update tagged with its choice; the usage update comes last,
    // once every choice has finished. The first failure of any choice stops the others and ends the stream (after the
    // updates that came before it); disposing the enumerator (a client that left) stops every provider request.
    private async IAsyncEnumerable<TextGenerationUpdate> StreamAsync(TextGenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var model = Prepare(request, out var messages);
        using var call = new RemoteCall(model, request.Timeout, _time, _logger, cancellationToken);
        var started = _time.GetTimestamp();
        var channel = Channel.CreateBounded<TextGenerationUpdate>(new BoundedChannelOptions(64) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        var usages = new ChatTokenUsage?[request.N];
        var versions = new string?[request.N];
        var producers = new Task[request.N];
        for (var i = 0; i < producers.Length; i++)
        {
            producers[i] = ProduceAsync(model, messages, OptionsFor(model, request, i), i, channel.Writer, usages, versions, call);
        }

        // Producers record their failures in the call rather than throw; the channel completes when all have ended.
        _ = Task.WhenAll(producers).ContinueWith(
            static (_, writer) => ((ChannelWriter<TextGenerationUpdate>)writer!).TryComplete(),
            channel.Writer, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            while (await channel.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (channel.Reader.TryRead(out var update)) yield return update;
            }

            if (call.Failure is { } failure) throw failure;
            model.Succeeded(_time.GetElapsedTime(started));
            if (Array.TrueForAll(usages, u => u is not null))
            {
                var completionTokens = 0;
                foreach (var usage in usages) completionTokens += usage!.OutputTokenCount;
                yield return new TextGenerationUpdate
                {
                    ModelId = model.Info.Id,
                    Version = VersionOf(versions[0], model),
                    Usage = new TextGenerationUsage(usages[0]!.InputTokenCount, completionTokens),
                };
            }
        }
        finally
        {
            call.Stop();
            await Task.WhenAll(producers).ConfigureAwait(false); // they catch everything themselves
        }
    }

    // One choice, streamed. The answer timer runs while waiting for the provider only: it pauses while the consumer
    // is slow to take updates (the channel is full), so a slow reader is never blamed on the provider.
    private static async Task ProduceAsync(
        RemoteModel model, List<ChatMessage> messages, ChatCompletionOptions options, int index, ChannelWriter<TextGenerationUpdate> writer,
        ChatTokenUsage?[] usages, string?[] versions, RemoteCall call)
    {
        using var timer = call.StartAnswerTimer();
        try
        {
            var finished = false;
            await foreach (var update in model.Client.CompleteChatStreamingAsync(messages, options, timer.Token).WithCancellation(timer.Token).ConfigureAwait(false))
            {
                timer.Pause();
                if (update.Usage is { } usage) usages[index] = usage;
                if (!string.IsNullOrEmpty(update.Model)) versions[index] ??= update.Model;
                var text = TextOf(update.ContentUpdate);
                var logprobs = options.IncludeLogProbabilities == true && update.ContentTokenLogProbabilities is { Count: > 0 } tokens ? LogProbsOf(tokens) : null;
                var finish = update.FinishReason is { } reason ? FinishReasonOf(reason, model) : null;
                finished |= finish is not null;
                if (text.Length > 0 || logprobs is not null || finish is not null)
                {
                    await writer.WriteAsync(new TextGenerationUpdate
                    {
                        ModelId = model.Info.Id,
                        Version = VersionOf(versions[index], model),
                        ChoiceIndex = index,
                        Text = text,
                        LogProbs = logprobs,
                        FinishReason = finish,
                    }, call.Token).ConfigureAwait(false);
                }

                timer.Restart();
            }

            if (!finished)
            {
                throw new ProviderUnavailableException($"The provider's stream for {model.Describe()} broke off before the answer was finished (no finish reason).");
            }
        }
        catch (Exception ex)
        {
            call.Fail(ex, timer); // ignored when the request was stopped (the consumer left) or another choice failed first
        }
    }

    private RemoteModel Prepare(TextGenerationRequest request, out List<ChatMessage> messages)
    {
        ArgumentNullException.ThrowIfNull(request);
        var model = ModelOf(request.ModelId);
        TextGenerationParameters.Validate(request, _maxChoices);
        if (request.Version is { } version && version != model.Info.Version)
        {
            throw new ModelNotFoundException(
                $"{model.Describe()} has no version '{(version.Length > 40 ? version[..40] + "…" : version)}'{(model.Info.Version is { } own ? $"; its version is '{own}'" : "")}.");
        }

        if (request.PromptTokenIds is not null)
        {
            throw new UnsupportedTaskException($"{model.Describe()} takes text: token-id prompts need the provider's tokenizer, which this server does not have.");
        }

        messages = request.Messages is { } conversation ? [.. conversation.Select(MessageOf)] : [new UserChatMessage(request.Prompt!)];
        return model;
    }

    private RemoteModel ModelOf(string modelId) =>
        modelId is not null && _models.TryGetValue(modelId, out var model)
            ? model
            : throw new ModelNotFoundException($"'{(modelId is { Length: > 80 } ? modelId[..80] + "…" : modelId)}' is not one of this server's remote models.");

    // 'developer' is sent as 'system', as local models read it: older OpenAI-compatible servers refuse the newer role.
    private static ChatMessage MessageOf(TextChatMessage message) => message.Role.ToLowerInvariant() switch
    {
        "system" or "developer" => new SystemChatMessage(message.Content ?? ""),
        "assistant" => new AssistantChatMessage(message.Content ?? ""),
        _ => new UserChatMessage(message.Content ?? ""),
    };

#pragma warning disable OPENAI001, SCME0001 // Seed is marked experimental by the OpenAI client, Patch (for vLLM's and ModelKit's top_k) by System.ClientModel.
    private static ChatCompletionOptions OptionsFor(RemoteModel model, TextGenerationRequest request, int choice)
    {
        var options = new ChatCompletionOptions
        {
            Temperature = request.Temperature,
            TopP = request.TopP,
            MaxOutputTokenCount = model.LegacyMaxTokens ? null : request.MaxTokens,
            PresencePenalty = request.PresencePenalty == 0 ? null : request.PresencePenalty,
            FrequencyPenalty = request.FrequencyPenalty == 0 ? null : request.FrequencyPenalty,
            Seed = request.Seed is { } seed ? unchecked(seed + choice) : null,
        };
        if (request.LogProbs)
        {
            options.IncludeLogProbabilities = true;
            if (request.TopLogProbs > 0) options.TopLogProbabilityCount = request.TopLogProbs;
        }

        foreach (var stop in request.Stop ?? []) options.StopSequences.Add(stop);
        if (request.TopK is { } topK) options.Patch.Set("$.top_k"u8, topK);
        if (model.LegacyMaxTokens && request.MaxTokens is { } maxTokens) options.Patch.Set("$.max_tokens"u8, maxTokens);
        return options;
    }
#pragma warning restore OPENAI001, SCME0001

    private static string TextOf(ChatMessageContent? content)
    {
        if (content is null || content.Count == 0) return "";
        if (content.Count == 1) return content[0].Text ?? "";
        return string.Concat(content.Select(p => p.Text));
    }

    private static string FinishReasonOf(ChatFinishReason reason, RemoteModel model) => reason switch
    {
        ChatFinishReason.Stop => TextGenerationFinishReasons.Stop,
        ChatFinishReason.Length => TextGenerationFinishReasons.Length,
        ChatFinishReason.ContentFilter => TextGenerationFinishReasons.ContentFilter,
        _ => throw new ProviderUnavailableException($"The provider of {model.Describe()} ended a choice with '{reason}', which needs tools this server does not offer."),
    };

    private static TokenLogProb[]? LogProbsOf(IReadOnlyList<ChatTokenLogProbabilityDetails>? tokens)
    {
        if (tokens is null) return null;
        var list = new TokenLogProb[tokens.Count];
        for (var i = 0; i < list.Length; i++)
        {
            var token = tokens[i];
            var top = token.TopLogProbabilities is { Count: > 0 } alternatives
                ? alternatives.Select(a => new TopTokenLogProb(a.Token, -1, a.LogProbability, BytesOf(a.Utf8Bytes, a.Token))).ToArray()
                : null;
            list[i] = new TokenLogProb(token.Token, -1, token.LogProbability, BytesOf(token.Utf8Bytes, token.Token), top);
        }

        return list;
    }

    private static byte[] BytesOf(ReadOnlyMemory<byte>? bytes, string token) => bytes is { } b ? b.ToArray() : System.Text.Encoding.UTF8.GetBytes(token);

    // The provider's name for the model that answered (OpenAI's dated snapshot, say), else the configured version or name.
    private static string VersionOf(string? answered, RemoteModel model) =>
        !string.IsNullOrEmpty(answered) ? answered : model.Info.Version ?? model.Info.ProviderModel;

    /// <summary>One choice of a whole answer, read from the provider's completion.</summary>
    private sealed record Answer(string Text, string FinishReason, TokenLogProb[]? LogProbs, ChatTokenUsage? Usage, string? Model);
}
