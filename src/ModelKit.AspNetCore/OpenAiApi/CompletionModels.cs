using System.Text.Json.Serialization;

namespace ModelKit.AspNetCore;

// OpenAI's chat and text completion objects, field for field (system_fingerprint is left out, as OpenAI allows). Seeds
// 001 and 004 answer the same objects inside their envelopes, and stream the same chunks. Fields OpenAI writes as null
// (logprobs, finish_reason of a chunk, usage of a chunk) are written as null, not left out.

/// <summary>A <c>chat.completion</c>.</summary>
internal sealed record ChatCompletion
{
    public required string Id { get; init; }
    public string Object { get; } = "chat.completion";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required IReadOnlyList<ChatChoice> Choices { get; init; }
    public required CompletionUsage Usage { get; init; }
    /// <summary>ModelKit: the model version that ran.</summary>
    public string? ModelVersion { get; init; }
}

/// <summary>One choice of a chat completion.</summary>
internal sealed record ChatChoice(
    int Index,
    AssistantMessage Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChatLogProbs? Logprobs,
    string FinishReason);

/// <summary>The assistant's message.</summary>
internal sealed record AssistantMessage(string Role, string Content);

/// <summary>A choice's log-probabilities: one entry per generated token.</summary>
internal sealed record ChatLogProbs(IReadOnlyList<ChatTokenLogProb> Content)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Refusal { get; init; }
}

/// <summary>A generated token's log-probability, its UTF-8 bytes, and the likeliest alternatives.</summary>
internal sealed record ChatTokenLogProb(string Token, float Logprob, IReadOnlyList<int> Bytes, IReadOnlyList<ChatTopLogProb> TopLogprobs);

/// <summary>An alternative at a position.</summary>
internal sealed record ChatTopLogProb(string Token, float Logprob, IReadOnlyList<int> Bytes);

/// <summary>Tokens read and written (prompt counted once, whatever <c>n</c>).</summary>
internal sealed record CompletionUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>A <c>text_completion</c>.</summary>
internal sealed record TextCompletion
{
    public required string Id { get; init; }
    public string Object { get; } = "text_completion";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required IReadOnlyList<TextChoice> Choices { get; init; }
    /// <summary>Null on stream chunks (OpenAI writes <c>"usage": null</c> there); set on whole answers and the usage chunk.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public CompletionUsage? Usage { get; init; }
    /// <summary>ModelKit: the model version that ran.</summary>
    public string? ModelVersion { get; init; }
}

/// <summary>One choice of a text completion (also a stream chunk's choice, where <c>finish_reason</c> is null until the last).</summary>
internal sealed record TextChoice(
    string Text,
    int Index,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] TextLogProbs? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>
/// The legacy completions' log-probabilities: per generated token its text, log-probability, the likeliest alternatives
/// (token text → log-probability) and its character offset in the completion.
/// </summary>
internal sealed record TextLogProbs(
    IReadOnlyList<string> Tokens,
    IReadOnlyList<float> TokenLogprobs,
    IReadOnlyList<IReadOnlyDictionary<string, float>> TopLogprobs,
    IReadOnlyList<int> TextOffset);

/// <summary>A <c>chat.completion.chunk</c>: a piece of a streamed chat completion.</summary>
internal sealed record ChatCompletionChunk
{
    public required string Id { get; init; }
    public string Object { get; } = "chat.completion.chunk";
    public required long Created { get; init; }
    public required string Model { get; init; }
    public required IReadOnlyList<ChatChunkChoice> Choices { get; init; }
    /// <summary>Null except on the usage chunk (<c>stream_options.include_usage</c>), whose <c>choices</c> is empty.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public CompletionUsage? Usage { get; init; }
}

/// <summary>One choice's piece: the text added, and the finish reason on its last chunk.</summary>
internal sealed record ChatChunkChoice(
    int Index,
    ChatDelta Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] ChatLogProbs? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

/// <summary>What a chunk adds: the role on a choice's first chunk, then content; empty on the last.</summary>
internal sealed record ChatDelta(string? Role, string? Content);
