using ModelKit.Scheduling;

namespace ModelKit.Text;

/// <summary>
/// A prompt (or a conversation) to complete with one model, with OpenAI's sampling parameters. Set exactly one of
/// <see cref="Prompt"/>, <see cref="PromptTokenIds"/> and <see cref="Messages"/>.
/// </summary>
public sealed record TextGenerationRequest
{
    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version; null: the running deployment's, else the default version.</summary>
    public string? Version { get; init; }

    /// <summary>A prompt to continue, as is (no chat template).</summary>
    public string? Prompt { get; init; }

    /// <summary>A prompt already tokenized with the model's tokenizer.</summary>
    public IReadOnlyList<int>? PromptTokenIds { get; init; }

    /// <summary>A conversation, rendered to a prompt with the model's chat template, ending with the assistant's turn opened.</summary>
    public IReadOnlyList<TextChatMessage>? Messages { get; init; }

    /// <summary>The most tokens each choice may generate (1 or more); null: what is left of the context after the prompt.</summary>
    public int? MaxTokens { get; init; }

    /// <summary>Sampling temperature, 0–2; 0 picks the most likely token (greedy). Null: 1.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling: sample among the most likely tokens whose probabilities add up to this, 0 (exclusive) – 1. Null: 1.</summary>
    public float? TopP { get; init; }

    /// <summary>Sample among this many most likely tokens (1 or more). Null: no limit.</summary>
    public int? TopK { get; init; }

    /// <summary>Seeds the sampler, so that the same request gives the same text. Null: a random seed.</summary>
    public long? Seed { get; init; }

    /// <summary>Texts that end a choice when generated (not included in its text); they may span tokens. At most 4.</summary>
    public IReadOnlyList<string>? Stop { get; init; }

    /// <summary>How many choices to generate for the prompt, 1 or more. Default: 1.</summary>
    public int N { get; init; } = 1;

    /// <summary>Subtracted from the logit of every token already generated, −2 to 2. Default: 0.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>Subtracted from a token's logit once per time it was generated, −2 to 2. Default: 0.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Return the log-probability of each generated token. Default: false.</summary>
    public bool LogProbs { get; init; }

    /// <summary>With <see cref="LogProbs"/>, also the most likely alternatives at each position, 0–20. Default: 0.</summary>
    public int TopLogProbs { get; init; }

    /// <summary>The queue priority; null: normal.</summary>
    public RequestPriority? Priority { get; init; }

    /// <summary>How long the whole generation may take; null: the generation default.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>One message of a conversation.</summary>
/// <param name="Role">Who speaks: <c>system</c>, <c>developer</c> (read as system), <c>user</c> or <c>assistant</c>.</param>
/// <param name="Content">What was said.</param>
public sealed record TextChatMessage(string Role, string Content);
