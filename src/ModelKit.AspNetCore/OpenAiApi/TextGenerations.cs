using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Text;

namespace ModelKit.AspNetCore;

/// <summary>
/// Runs a <see cref="TextGenerationRequest"/> on the host's <see cref="ITextGenerationService"/> and shapes the result as
/// OpenAI's chat or text completion, whole or as a stream of chunks. Every surface that generates text (OpenAI's
/// <c>/v1</c>, seeds 001 and 004) answers these objects, the seeds inside their envelopes.
/// </summary>
internal static class TextGenerations
{
    /// <summary>The text generation service; 501 when the host registered none (it comes with <c>AddOnnxRuntime()</c>).</summary>
    public static ITextGenerationService ServiceOf(HttpContext context) =>
        context.RequestServices.GetService<ITextGenerationService>()
        ?? throw new NotBuiltException("This server has no text generation service: the host must add a text backend (services.AddModelKit().AddOnnxRuntime()).");

    /// <summary>Generates every choice, then answers them as a <c>chat.completion</c>.</summary>
    public static async Task<ChatCompletion> ChatAsync(HttpContext context, TextGenerationRequest request, CancellationToken cancellationToken)
    {
        var result = await ServiceOf(context).GenerateAsync(request, cancellationToken);
        var choices = new ChatChoice[result.Choices.Count];
        for (var i = 0; i < choices.Length; i++)
        {
            var choice = result.Choices[i];
            choices[i] = new ChatChoice(choice.Index, new AssistantMessage("assistant", choice.Text), ChatLogProbsOf(choice.LogProbs), choice.FinishReason);
        }

        return new ChatCompletion
        {
            Id = NewId("chatcmpl-"),
            Created = Now(context),
            Model = result.ModelId,
            Choices = choices,
            Usage = UsageOf(result.Usage),
            ModelVersion = result.Version,
        };
    }

    /// <summary>Generates every choice, then answers them as a <c>text_completion</c>.</summary>
    public static async Task<TextCompletion> CompleteAsync(HttpContext context, TextGenerationRequest request, CancellationToken cancellationToken)
    {
        var result = await ServiceOf(context).GenerateAsync(request, cancellationToken);
        var choices = new TextChoice[result.Choices.Count];
        for (var i = 0; i < choices.Length; i++)
        {
            var choice = result.Choices[i];
            var offset = 0;
            choices[i] = new TextChoice(choice.Text, choice.Index, TextLogProbsOf(choice.LogProbs, ref offset), choice.FinishReason);
        }

        return new TextCompletion
        {
            Id = NewId("cmpl-"),
            Created = Now(context),
            Model = result.ModelId,
            Choices = choices,
            Usage = UsageOf(result.Usage),
            ModelVersion = result.Version,
        };
    }

    /// <summary>
    /// Starts a streamed generation: the request is validated by waiting for its first update, so that a bad request is
    /// still an ordinary error answer; then the rest goes out as server-sent chunks (<c>chat.completion.chunk</c> for
    /// <paramref name="chat"/>, else <c>text_completion</c>), with a usage chunk when <paramref name="includeUsage"/>.
    /// The generation runs with <paramref name="cancellationToken"/> (the request's abort token): a client that leaves stops it.
    /// </summary>
    public static async Task<IResult> StreamAsync(
        HttpContext context, TextGenerationRequest request, bool chat, bool includeUsage, Func<HttpContext, SurfaceError, object> errorBody, CancellationToken cancellationToken)
    {
        var updates = ServiceOf(context).GenerateStreamingAsync(request, cancellationToken).GetAsyncEnumerator(cancellationToken);
        bool any;
        try
        {
            any = await updates.MoveNextAsync();
        }
        catch
        {
            await updates.DisposeAsync();
            throw;
        }

        var created = Now(context);
        var events = chat
            ? ChatChunksAsync(updates, any, NewId("chatcmpl-"), created, includeUsage, cancellationToken)
            : TextChunksAsync(updates, any, NewId("cmpl-"), created, includeUsage, cancellationToken);
        return new ServerSentEvents(events, errorBody);
    }

    // A choice's first chunk carries the role (with whatever text came first), later ones the text added; a choice ends
    // with an empty delta and its finish reason, as OpenAI streams it.
    private static async IAsyncEnumerable<object> ChatChunksAsync(
        IAsyncEnumerator<TextGenerationUpdate> updates, bool any, string id, long created, bool includeUsage, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            var started = new HashSet<int>();
            for (var more = any; more; more = await updates.MoveNextAsync())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var update = updates.Current;
                var first = started.Add(update.ChoiceIndex);
                var logprobs = update.LogProbs is { Count: > 0 } ? ChatLogProbsOf(update.LogProbs) : null;
                if (first || update.Text.Length > 0 || logprobs is not null)
                {
                    yield return ChatChunk(id, created, update.ModelId, new ChatChunkChoice(update.ChoiceIndex, new ChatDelta(first ? "assistant" : null, update.Text), logprobs, null));
                }

                if (update.FinishReason is { } reason)
                {
                    yield return ChatChunk(id, created, update.ModelId, new ChatChunkChoice(update.ChoiceIndex, new ChatDelta(null, null), null, reason));
                }

                if (update.Usage is { } usage && includeUsage)
                {
                    yield return new ChatCompletionChunk { Id = id, Created = created, Model = update.ModelId, Choices = [], Usage = UsageOf(usage) };
                }
            }
        }
        finally
        {
            await updates.DisposeAsync();
        }
    }

    // Each chunk carries the text added; a choice's last chunk also its finish reason.
    private static async IAsyncEnumerable<object> TextChunksAsync(
        IAsyncEnumerator<TextGenerationUpdate> updates, bool any, string id, long created, bool includeUsage, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        try
        {
            var offsets = new Dictionary<int, int>();
            for (var more = any; more; more = await updates.MoveNextAsync())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var update = updates.Current;
                var offset = offsets.GetValueOrDefault(update.ChoiceIndex);
                var logprobs = update.LogProbs is { Count: > 0 } ? TextLogProbsOf(update.LogProbs, ref offset) : null;
                offsets[update.ChoiceIndex] = offset;
                if (update.Text.Length > 0 || logprobs is not null || update.FinishReason is not null)
                {
                    yield return new TextCompletion
                    {
                        Id = id,
                        Created = created,
                        Model = update.ModelId,
                        Choices = [new TextChoice(update.Text, update.ChoiceIndex, logprobs, update.FinishReason)],
                    };
                }

                if (update.Usage is { } usage && includeUsage)
                {
                    yield return new TextCompletion { Id = id, Created = created, Model = update.ModelId, Choices = [], Usage = UsageOf(usage) };
                }
            }
        }
        finally
        {
            await updates.DisposeAsync();
        }
    }

    private static ChatCompletionChunk ChatChunk(string id, long created, string model, ChatChunkChoice choice) =>
        new() { Id = id, Created = created, Model = model, Choices = [choice] };

    private static ChatLogProbs? ChatLogProbsOf(IReadOnlyList<TokenLogProb>? logprobs)
    {
        if (logprobs is null) return null;
        var content = new ChatTokenLogProb[logprobs.Count];
        for (var i = 0; i < content.Length; i++)
        {
            var token = logprobs[i];
            var top = new List<ChatTopLogProb>(token.TopLogProbs?.Count ?? 0);
            foreach (var alternative in token.TopLogProbs ?? []) top.Add(new ChatTopLogProb(alternative.Token, alternative.LogProb, Bytes(alternative.Bytes)));
            content[i] = new ChatTokenLogProb(token.Token, token.LogProb, Bytes(token.Bytes), top);
        }

        return new ChatLogProbs(content);
    }

    // The legacy shape: parallel lists, the alternatives as token text → log-probability (the first of equal texts kept),
    // and each token's character offset in the completion (counted on from offset, which is advanced).
    private static TextLogProbs? TextLogProbsOf(IReadOnlyList<TokenLogProb>? logprobs, ref int offset)
    {
        if (logprobs is null) return null;
        var tokens = new string[logprobs.Count];
        var values = new float[logprobs.Count];
        var top = new IReadOnlyDictionary<string, float>[logprobs.Count];
        var offsets = new int[logprobs.Count];
        for (var i = 0; i < tokens.Length; i++)
        {
            var token = logprobs[i];
            tokens[i] = token.Token;
            values[i] = token.LogProb;
            var alternatives = new Dictionary<string, float>(token.TopLogProbs?.Count ?? 0);
            foreach (var alternative in token.TopLogProbs ?? []) alternatives.TryAdd(alternative.Token, alternative.LogProb);
            top[i] = alternatives;
            offsets[i] = offset;
            offset += token.Token.Length;
        }

        return new TextLogProbs(tokens, values, top, offsets);
    }

    private static int[] Bytes(byte[] bytes) => Array.ConvertAll(bytes, static b => (int)b);

    private static CompletionUsage UsageOf(TextGenerationUsage usage) => new(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens);

    private static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N");

    private static long Now(HttpContext context) =>
        (context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow().ToUnixTimeSeconds();
}
