using System.Globalization;

namespace ModelKit.Text;

/// <summary>
/// Checks a <see cref="TextGenerationRequest"/>'s parameters before it is queued, naming each wrong field as OpenAI's
/// API spells it (<c>temperature</c>, <c>top_p</c> …) with the range it takes. Whether the prompt fits the model's
/// context is the backend's check, once the prompt is tokenized. Every <see cref="ITextGenerationService"/> calls it
/// first, so that local and remote models refuse the same requests with the same words.
/// </summary>
public static class TextGenerationParameters
{
    /// <summary>The most stop sequences OpenAI takes.</summary>
    public const int DefaultMaxStops = 4;

    /// <summary>The most alternatives <see cref="TextGenerationRequest.TopLogProbs"/> may ask for (OpenAI's limit).</summary>
    public const int MaxTopLogProbs = 20;

    /// <summary>The roles a <see cref="TextChatMessage"/> may have, as messages name them.</summary>
    public const string RoleNames = "system, developer, user or assistant";

    /// <summary>Whether <paramref name="role"/> is one of <see cref="RoleNames"/> (in any case).</summary>
    public static bool IsKnownRole(string? role) => role?.ToLowerInvariant() is "system" or "developer" or "user" or "assistant";

    /// <summary>The message for message <paramref name="index"/> whose role is none of <see cref="RoleNames"/>.</summary>
    public static string UnknownRole(int index, string? role) =>
        $"messages[{index.ToString(CultureInfo.InvariantCulture)}].role '{(role is { Length: > 40 } ? role[..40] + "…" : role)}' is not supported; use {RoleNames}.";

    /// <summary>Throws when any parameter is out of range; the message lists every wrong field.</summary>
    /// <param name="request">The request.</param>
    /// <param name="maxChoices">The most choices one request may ask for.</param>
    /// <param name="maxStopSequences">The most stop sequences one request may give.</param>
    /// <exception cref="InvalidInputException">A parameter is out of range, or the prompt is missing, given twice or empty.</exception>
    public static void Validate(TextGenerationRequest request, int maxChoices, int maxStopSequences = DefaultMaxStops)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChoices, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxStopSequences);
        var errors = new List<string>();
        CheckPrompt(request, errors);

        if (request.Temperature is { } temperature && !(temperature is >= 0 and <= 2))
        {
            errors.Add($"temperature must be between 0 and 2; got {Format(temperature)}.");
        }

        if (request.TopP is { } topP && !(topP is > 0 and <= 1))
        {
            errors.Add($"top_p must be above 0 and at most 1; got {Format(topP)}.");
        }

        if (request.TopK is < 1) errors.Add($"top_k must be 1 or more; got {request.TopK}.");
        if (request.N < 1 || request.N > maxChoices) errors.Add($"n must be between 1 and {maxChoices}; got {request.N}.");
        if (request.MaxTokens is < 1) errors.Add($"max_tokens must be 1 or more; got {request.MaxTokens}.");
        if (!(request.PresencePenalty is >= -2 and <= 2)) errors.Add($"presence_penalty must be between -2 and 2; got {Format(request.PresencePenalty)}.");
        if (!(request.FrequencyPenalty is >= -2 and <= 2)) errors.Add($"frequency_penalty must be between -2 and 2; got {Format(request.FrequencyPenalty)}.");
        if (request.TopLogProbs is < 0 or > MaxTopLogProbs)
        {
            errors.Add($"top_logprobs must be between 0 and {MaxTopLogProbs}; got {request.TopLogProbs}.");
        }
        else if (request.TopLogProbs > 0 && !request.LogProbs)
        {
            errors.Add("top_logprobs needs logprobs set to true.");
        }

        if (request.Stop is { } stops)
        {
            if (stops.Count > maxStopSequences) errors.Add($"stop takes at most {maxStopSequences} sequences; got {stops.Count}.");
            for (var i = 0; i < stops.Count; i++)
            {
                if (string.IsNullOrEmpty(stops[i])) errors.Add($"stop[{i}] is empty; a stop sequence needs at least one character.");
            }
        }

        if (errors.Count > 0) throw new InvalidInputException(string.Join(" ", errors));
    }

    private static void CheckPrompt(TextGenerationRequest request, List<string> errors)
    {
        var given = new List<string>(3);
        if (request.Prompt is not null) given.Add("prompt");
        if (request.PromptTokenIds is not null) given.Add("prompt_token_ids");
        if (request.Messages is not null) given.Add("messages");
        if (given.Count != 1)
        {
            errors.Add($"Set exactly one of prompt, prompt_token_ids and messages; got {(given.Count == 0 ? "none" : string.Join(" and ", given))}.");
            return;
        }

        if (request.Prompt is { Length: 0 }) errors.Add("prompt is empty; give the text to continue.");
        if (request.PromptTokenIds is { Count: 0 }) errors.Add("prompt_token_ids is empty; give at least one token id.");
        if (request.Messages is not { } messages) return;
        if (messages.Count == 0)
        {
            errors.Add("messages is empty; give at least one message.");
            return;
        }

        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not { } message)
            {
                errors.Add($"messages[{i}] is null.");
            }
            else if (string.IsNullOrEmpty(message.Role))
            {
                errors.Add($"messages[{i}].role is empty; use {RoleNames}.");
            }
            else if (!IsKnownRole(message.Role))
            {
                errors.Add(UnknownRole(i, message.Role));
            }
        }
    }

    private static string Format(float value) => value.ToString(CultureInfo.InvariantCulture);
}
