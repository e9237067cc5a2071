using Grpc.Core;
using ModelKit.Grpc.Model;
using ModelKit.Text;

namespace ModelKit.Grpc;

/// <summary>
/// Streams a generation as <c>model.ModelService</c>'s chunks, token by token: one chunk per update of
/// <see cref="ITextGenerationService.GenerateStreamingAsync"/> that adds text (or log-probabilities) or ends a choice.
/// Every chunk carries exactly one choice, so that <c>choices[0]</c> is always there: a chat choice's first chunk has
/// role <c>assistant</c>, a choice's last chunk its <c>finish_reason</c>, and the stream's last chunk (the last choice's
/// end) also the <c>usage</c> — a choice's ending chunk waits for the next update to learn whether it is the last.
/// A bad request fails before the first chunk (the service validates it on the first update); the generation runs
/// with the call's token, so a client that leaves or a deadline that passes stops it within a step.
/// </summary>
internal static class GenerationStreams
{
    public static Task ChatAsync(
        ITextGenerationService service, TextGenerationRequest request, IServerStreamWriter<ChatCompletionChunk> stream, long created, CancellationToken cancellationToken)
    {
        var id = ModelServiceMessages.NewId("chatcmpl-");
        var started = new HashSet<int>();
        return RunAsync(service, request, stream, update =>
        {
            var first = started.Add(update.ChoiceIndex);
            var logprobs = update.LogProbs is { Count: > 0 } ? ModelServiceMessages.ChatLogProbs(update.LogProbs) : null;
            if (!first && update.Text.Length == 0 && logprobs is null && update.FinishReason is null) return null;
            var choice = new ChatChunkChoice { Index = update.ChoiceIndex, Delta = new Delta { Role = first ? "assistant" : string.Empty, Content = update.Text }, Logprobs = logprobs };
            if (update.FinishReason is { } reason) choice.FinishReason = reason;
            return new ChatCompletionChunk { Id = id, Object = "chat.completion.chunk", Created = created, Model = update.ModelId, ModelVersion = update.Version, Choices = { choice } };
        }, static (chunk, usage) => chunk.Usage = usage, static chunk => chunk.Choices.Count > 0 && chunk.Choices[0].HasFinishReason, cancellationToken);
    }

    public static Task CompletionAsync(
        ITextGenerationService service, TextGenerationRequest request, IServerStreamWriter<CompletionChunk> stream, long created, CancellationToken cancellationToken)
    {
        var id = ModelServiceMessages.NewId("cmpl-");
        var offsets = new Dictionary<int, int>();
        return RunAsync(service, request, stream, update =>
        {
            var offset = offsets.GetValueOrDefault(update.ChoiceIndex);
            var logprobs = update.LogProbs is { Count: > 0 } ? ModelServiceMessages.CompletionLogProbs(update.LogProbs, ref offset) : null;
            offsets[update.ChoiceIndex] = offset;
            if (update.Text.Length == 0 && logprobs is null && update.FinishReason is null) return null;
            var choice = new CompletionChoice { Text = update.Text, Index = update.ChoiceIndex, Logprobs = logprobs };
            if (update.FinishReason is { } reason) choice.FinishReason = reason;
            return new CompletionChunk { Id = id, Object = "text_completion", Created = created, Model = update.ModelId, ModelVersion = update.Version, Choices = { choice } };
        }, static (chunk, usage) => chunk.Usage = usage, static chunk => chunk.Choices.Count > 0 && chunk.Choices[0].HasFinishReason, cancellationToken);
    }

    // The loop both streams share: a chunk per update (none when the update adds nothing), an ending chunk held until
    // the next update, the usage put on the held chunk (or the update's own), what is held written at the end.
    private static async Task RunAsync<TChunk>(
        ITextGenerationService service,
        TextGenerationRequest request,
        IServerStreamWriter<TChunk> stream,
        Func<TextGenerationUpdate, TChunk?> chunkOf,
        Action<TChunk, Usage> setUsage,
        Func<TChunk, bool> ends,
        CancellationToken cancellationToken)
        where TChunk : class
    {
        TChunk? held = null;
        await foreach (var update in service.GenerateStreamingAsync(request, cancellationToken).WithCancellation(cancellationToken))
        {
            var chunk = chunkOf(update);
            if (update.Usage is { } usage)
            {
                var carrier = chunk ?? held;
                if (carrier is not null) setUsage(carrier, ModelServiceMessages.Usage(usage));
            }

            if (chunk is null) continue;
            if (held is not null)
            {
                await stream.WriteAsync(held, cancellationToken);
                held = null;
            }

            if (ends(chunk) && update.Usage is null) held = chunk;
            else await stream.WriteAsync(chunk, cancellationToken);
        }

        if (held is not null) await stream.WriteAsync(held, cancellationToken);
    }
}
