namespace ModelKit.Text;

/// <summary>The completions of a <see cref="TextGenerationRequest"/>.</summary>
public sealed record TextGenerationResult
{
    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version that ran.</summary>
    public required string Version { get; init; }

    /// <summary>One entry per choice, in index order.</summary>
    public required IReadOnlyList<TextGenerationChoice> Choices { get; init; }

    /// <summary>The tokens read and written.</summary>
    public required TextGenerationUsage Usage { get; init; }
}

/// <summary>One completion.</summary>
public sealed record TextGenerationChoice
{
    /// <summary>Its index, 0 to N − 1.</summary>
    public int Index { get; init; }

    /// <summary>The generated text (a stop sequence that ended it is not included).</summary>
    public required string Text { get; init; }

    /// <summary>The generated token ids; empty for a remote model (providers do not send them).</summary>
    public required IReadOnlyList<int> TokenIds { get; init; }

    /// <summary>
    /// Why it ended: <see cref="TextGenerationFinishReasons.Stop"/> or <see cref="TextGenerationFinishReasons.Length"/>
    /// (a remote model also <see cref="TextGenerationFinishReasons.ContentFilter"/>).
    /// </summary>
    public required string FinishReason { get; init; }

    /// <summary>The log-probability of each generated token, when asked for.</summary>
    public IReadOnlyList<TokenLogProb>? LogProbs { get; init; }
}

/// <summary>A piece of a streamed generation.</summary>
public sealed record TextGenerationUpdate
{
    /// <summary>The model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version that runs.</summary>
    public required string Version { get; init; }

    /// <summary>The choice this update belongs to.</summary>
    public int ChoiceIndex { get; init; }

    /// <summary>The text added (may be empty: a token that ends inside a character, or the final update).</summary>
    public string Text { get; init; } = string.Empty;

    /// <summary>The token ids added.</summary>
    public IReadOnlyList<int> TokenIds { get; init; } = [];

    /// <summary>The log-probabilities of <see cref="TokenIds"/>, when asked for.</summary>
    public IReadOnlyList<TokenLogProb>? LogProbs { get; init; }

    /// <summary>Set on the choice's last update: <see cref="TextGenerationFinishReasons.Stop"/> or <see cref="TextGenerationFinishReasons.Length"/>.</summary>
    public string? FinishReason { get; init; }

    /// <summary>Set on the stream's very last update (after every choice has finished), and only there.</summary>
    public TextGenerationUsage? Usage { get; init; }
}

/// <summary>Token counts of a generation.</summary>
/// <param name="PromptTokens">The prompt's tokens (counted once, whatever N).</param>
/// <param name="CompletionTokens">The tokens generated, all choices together.</param>
public sealed record TextGenerationUsage(int PromptTokens, int CompletionTokens)
{
    /// <summary>Prompt and completion tokens.</summary>
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>The log-probability of one generated token.</summary>
/// <param name="Token">The token's text (may be part of a character).</param>
/// <param name="TokenId">The token id; −1 for a remote model (providers do not send ids).</param>
/// <param name="LogProb">Its natural-log probability under the model (before temperature and penalties).</param>
/// <param name="Bytes">The token's UTF-8 bytes.</param>
/// <param name="TopLogProbs">The most likely tokens at this position, most likely first, when asked for.</param>
public sealed record TokenLogProb(string Token, int TokenId, float LogProb, byte[] Bytes, IReadOnlyList<TopTokenLogProb>? TopLogProbs);

/// <summary>An alternative token at a position.</summary>
/// <param name="Token">The token's text.</param>
/// <param name="TokenId">The token id; −1 for a remote model.</param>
/// <param name="LogProb">Its natural-log probability.</param>
/// <param name="Bytes">The token's UTF-8 bytes.</param>
public sealed record TopTokenLogProb(string Token, int TokenId, float LogProb, byte[] Bytes);

/// <summary>The finish reasons of a choice.</summary>
public static class TextGenerationFinishReasons
{
    /// <summary>The model produced an end-of-sequence token, or a stop sequence was generated.</summary>
    public const string Stop = "stop";

    /// <summary><see cref="TextGenerationRequest.MaxTokens"/> or the context was reached.</summary>
    public const string Length = "length";

    /// <summary>A remote model's provider withheld the rest of the answer (its content filter).</summary>
    public const string ContentFilter = "content_filter";
}
