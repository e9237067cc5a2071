using System.Text;
using System.Text.Json;
using ModelKit.Text;

namespace ModelKit.AspNetCore;

/// <summary>
/// A chat request as OpenAI's <c>POST /v1/chat/completions</c>, seed 001's <c>POST /models/{model_id}/chat/completions</c>
/// and seed 004's <c>POST /api/chat/{deployment_id}</c> take it (the seeds send a subset of OpenAI's fields and name the
/// model in the path). Unknown fields are ignored.
/// </summary>
internal sealed record ChatCompletionBody : GenerationBody
{
    /// <summary>The conversation: <c>{role, content}</c> objects; content is a string or an array of text parts.</summary>
    public List<ChatMessageBody?>? Messages { get; init; }

    /// <summary>Whether to return each generated token's log-probability.</summary>
    public bool? Logprobs { get; init; }

    /// <summary>With <see cref="Logprobs"/>, the most likely alternatives at each position (0–20).</summary>
    public int? TopLogprobs { get; init; }

    // OpenAI features ModelKit does not serve: refused with 400 when set.
    public JsonElement? Tools { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public JsonElement? Functions { get; init; }
    public JsonElement? FunctionCall { get; init; }
    public JsonElement? Audio { get; init; }
    public JsonElement? Modalities { get; init; }
    public JsonElement? Prediction { get; init; }
}

/// <summary>One chat message as sent.</summary>
internal sealed record ChatMessageBody
{
    /// <summary><c>system</c>, <c>developer</c>, <c>user</c> or <c>assistant</c>.</summary>
    public string? Role { get; init; }

    /// <summary>A string, or an array of <c>{"type": "text", "text": …}</c> parts.</summary>
    public JsonElement? Content { get; init; }

    /// <summary>OpenAI's participant name; accepted and not used.</summary>
    public string? Name { get; init; }
}

/// <summary>OpenAI's <c>stream_options</c>.</summary>
internal sealed record StreamOptionsBody
{
    /// <summary>Send a last chunk with the usage (and <c>"usage": null</c> on the others).</summary>
    public bool? IncludeUsage { get; init; }
}

/// <summary>
/// A text completion request as OpenAI's <c>POST /v1/completions</c>, seed 001's <c>POST /models/{model_id}/completions</c>
/// and seed 004's <c>POST /api/completions/{deployment_id}</c> take it.
/// </summary>
internal sealed record CompletionBody : GenerationBody
{
    /// <summary>A string, an array of one string, an array of token ids, or an array of one token-id array.</summary>
    public JsonElement? Prompt { get; init; }

    /// <summary>Return log-probabilities, with this many alternatives per position (0–20).</summary>
    public int? Logprobs { get; init; }

    // OpenAI features ModelKit does not serve: refused with 400 when set to anything but their defaults.
    public bool? Echo { get; init; }
    public string? Suffix { get; init; }
    public int? BestOf { get; init; }
}

/// <summary>The fields chat and text completion requests share: the model, the limits and the sampling parameters.</summary>
internal abstract record GenerationBody
{
    /// <summary>The model (OpenAI's field; the seeds take it from the path).</summary>
    public string? Model { get; init; }

    /// <summary>The most tokens each choice may generate (OpenAI's older name).</summary>
    public int? MaxTokens { get; init; }

    /// <summary>The most tokens each choice may generate (OpenAI's newer name; wins over <see cref="MaxTokens"/>).</summary>
    public int? MaxCompletionTokens { get; init; }

    public double? Temperature { get; init; }

    public double? TopP { get; init; }

    /// <summary>ModelKit (and vLLM): sample among this many most likely tokens.</summary>
    public int? TopK { get; init; }

    public int? N { get; init; }

    public bool? Stream { get; init; }

    public StreamOptionsBody? StreamOptions { get; init; }

    /// <summary>A string or an array of up to 4 strings.</summary>
    public JsonElement? Stop { get; init; }

    public double? PresencePenalty { get; init; }

    public double? FrequencyPenalty { get; init; }

    public long? Seed { get; init; }

    /// <summary>OpenAI's end-user id; accepted and not used.</summary>
    public string? User { get; init; }

    /// <summary>ModelKit: the model version; default: the deployment's, else the default version.</summary>
    public string? Version { get; init; }

    /// <summary>ModelKit: <c>high</c>, <c>normal</c> or <c>low</c>.</summary>
    public string? Priority { get; init; }

    /// <summary>Only <c>{"type": "text"}</c> (or none) is accepted.</summary>
    public JsonElement? ResponseFormat { get; init; }

    /// <summary>Refused when set: ModelKit does not bias logits.</summary>
    public JsonElement? LogitBias { get; init; }
}

/// <summary>The chat and completion bodies as Core's <see cref="TextGenerationRequest"/>; shapes only, the service validates values.</summary>
internal static class ChatBodies
{
    public static TextGenerationRequest ToRequest(string modelId, ChatCompletionBody body)
    {
        NotSupported(body.Tools, "tools", Tools);
        NotSupported(body.ToolChoice, "tool_choice", Tools);
        NotSupported(body.Functions, "functions", Tools);
        NotSupported(body.FunctionCall, "function_call", Tools);
        NotSupported(body.Audio, "audio", "ModelKit's text generation reads and writes text");
        NotSupported(body.Prediction, "prediction", "ModelKit does not speculate on predicted outputs");

        if (body.Modalities is { ValueKind: JsonValueKind.Array } modalities
            && modalities.EnumerateArray().Any(m => m.ValueKind != JsonValueKind.String || m.GetString() != "text"))
        {
            throw new InvalidInputException("'modalities' is not supported beyond [\"text\"]: ModelKit generates text.");
        }

        if (body.TopLogprobs is not null && body.Logprobs != true)
        {
            throw new InvalidInputException("'top_logprobs' needs 'logprobs': true.");
        }

        return Common(modelId, body) with
        {
            Messages = Messages(body.Messages),
            LogProbs = body.Logprobs ?? false,
            TopLogProbs = body.TopLogprobs ?? 0,
        };
    }

    public static TextGenerationRequest ToRequest(string modelId, CompletionBody body)
    {
        if (body.Logprobs is < 0 or > 20)
        {
            throw new InvalidInputException($"'logprobs' must be between 0 and 20 (the alternatives returned per position); got {body.Logprobs}.");
        }

        if (body.Echo == true) throw new InvalidInputException("'echo' is not supported: the answer holds the completion only.");
        if (!string.IsNullOrEmpty(body.Suffix)) throw new InvalidInputException("'suffix' is not supported: ModelKit continues a prompt, it does not fill in between texts.");
        if (body.BestOf is { } bestOf && bestOf != (body.N ?? 1))
        {
            throw new InvalidInputException($"'best_of' is not supported (was {bestOf}): ask for 'n' choices instead.");
        }

        var request = Common(modelId, body) with
        {
            LogProbs = body.Logprobs is not null,
            TopLogProbs = body.Logprobs ?? 0,
        };
        return Prompt(request, body.Prompt);
    }

    private static void PlainText(JsonElement? responseFormat)
    {
        if (responseFormat is { ValueKind: not JsonValueKind.Null } format
            && !(format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text"))
        {
            throw new InvalidInputException("'response_format' is not supported: ModelKit generates plain text (only {\"type\": \"text\"} is accepted).");
        }
    }

    /// <summary>Whether the body asks for a stream, and whether its stream ends with a usage chunk.</summary>
    public static (bool Stream, bool IncludeUsage) Streaming(bool? stream, StreamOptionsBody? options) =>
        (stream == true, stream == true && options?.IncludeUsage == true);

    // What both bodies say the same way: the model, the limits, the sampling parameters, the stream's options.
    private static TextGenerationRequest Common(string modelId, GenerationBody body)
    {
        NotSupported(body.LogitBias, "logit_bias", LogitBias);
        PlainText(body.ResponseFormat);
        if (body.StreamOptions is not null && body.Stream != true) throw new InvalidInputException("'stream_options' is only allowed with 'stream': true.");
        return new TextGenerationRequest
        {
            ModelId = modelId,
            Version = body.Version,
            Priority = Parse.Priority(body.Priority),
            Stop = Stop(body.Stop),
            MaxTokens = body.MaxCompletionTokens ?? body.MaxTokens,
            Temperature = (float?)body.Temperature,
            TopP = (float?)body.TopP,
            TopK = body.TopK,
            N = body.N ?? 1,
            PresencePenalty = (float)(body.PresencePenalty ?? 0),
            FrequencyPenalty = (float)(body.FrequencyPenalty ?? 0),
            Seed = body.Seed,
        };
    }

    private static List<string>? Stop(JsonElement? stop)
    {
        if (stop is not { } value || value.ValueKind == JsonValueKind.Null) return null;
        if (value.ValueKind == JsonValueKind.String) return [Text(value, "stop")];
        if (value.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"'stop' is a JSON {Kind(value.ValueKind)}; send a string or an array of strings.");
        var list = new List<string>(value.GetArrayLength());
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String) throw new InvalidInputException($"'stop' holds a JSON {Kind(item.ValueKind)} at [{list.Count}]; send a string or an array of strings.");
            list.Add(Text(item, $"stop[{list.Count}]"));
        }

        return list;
    }

    private static List<TextChatMessage> Messages(List<ChatMessageBody?>? messages)
    {
        if (messages is null) throw new InvalidInputException("'messages' is required: an array of {\"role\", \"content\"} objects.");
        if (messages.Count == 0) throw new InvalidInputException("'messages' is empty: send at least one message.");
        var list = new List<TextChatMessage>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i] ?? throw new InvalidInputException($"'messages[{i}]' is null; send a {{\"role\", \"content\"}} object.");
            if (string.IsNullOrEmpty(message.Role)) throw new InvalidInputException($"'messages[{i}].role' is required: system, developer, user or assistant.");
            list.Add(new TextChatMessage(message.Role, Content(message.Content, i)));
        }

        return list;
    }

    // A message's content: a string, or an array of text parts joined (OpenAI's content parts; images are not read).
    private static string Content(JsonElement? content, int index)
    {
        if (content is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            throw new InvalidInputException($"'messages[{index}].content' is required: a string or an array of text parts.");
        }

        if (value.ValueKind == JsonValueKind.String) return Text(value, $"messages[{index}].content");
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidInputException($"'messages[{index}].content' is a JSON {Kind(value.ValueKind)}; send a string or an array of text parts.");
        }

        var text = new StringBuilder();
        var part = 0;
        foreach (var item in value.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object || !item.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw new InvalidInputException($"'messages[{index}].content[{part}]' is not a content part: send {{\"type\": \"text\", \"text\": …}}.");
            }

            if (type.GetString() != "text")
            {
                throw new InvalidInputException(
                    $"'messages[{index}].content[{part}]' is of type '{ClientText.Quote(type.GetString(), 20)}', which is not supported: ModelKit's text models read text parts only.");
            }

            if (!item.TryGetProperty("text", out var partText) || partText.ValueKind != JsonValueKind.String)
            {
                throw new InvalidInputException($"'messages[{index}].content[{part}].text' is required: a string.");
            }

            text.Append(Text(partText, $"messages[{index}].content[{part}].text"));
            part++;
        }

        return text.ToString();
    }

    // The prompt: a string, [string], [token ids] or [[token ids]]; several prompts in one request are refused.
    private static TextGenerationRequest Prompt(TextGenerationRequest request, JsonElement? prompt)
    {
        if (prompt is not { } value || value.ValueKind == JsonValueKind.Null)
        {
            throw new InvalidInputException("'prompt' is required: a string, an array of one string, or an array of token ids.");
        }

        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                return request with { Prompt = Text(value, "prompt") };
            case JsonValueKind.Array when value.GetArrayLength() == 0:
                throw new InvalidInputException("'prompt' is an empty array: send a string or token ids.");
            case JsonValueKind.Array:
                var first = value[0];
                if (first.ValueKind == JsonValueKind.Number) return request with { PromptTokenIds = TokenIds(value, "prompt") };
                if (value.GetArrayLength() > 1)
                {
                    throw new InvalidInputException($"'prompt' holds {value.GetArrayLength()} prompts; send one prompt per request (use 'n' for several completions of it).");
                }

                if (first.ValueKind == JsonValueKind.String) return request with { Prompt = Text(first, "prompt[0]") };
                if (first.ValueKind == JsonValueKind.Array) return request with { PromptTokenIds = TokenIds(first, "prompt[0]") };
                throw new InvalidInputException($"'prompt[0]' is a JSON {Kind(first.ValueKind)}; send a string or token ids.");
            default:
                throw new InvalidInputException($"'prompt' is a JSON {Kind(value.ValueKind)}; send a string, an array of one string, or an array of token ids.");
        }
    }

    private static int[] TokenIds(JsonElement array, string name)
    {
        var ids = new int[array.GetArrayLength()];
        var i = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt32(out ids[i]))
            {
                throw new InvalidInputException($"'{name}[{i}]' is not a token id: token ids are integers.");
            }

            i++;
        }

        return ids;
    }

    private const string Tools = "ModelKit's text generation has no tools or function calling";
    private const string LogitBias = "ModelKit's sampler takes no per-token biases (use 'stop', the penalties or 'top_k')";

    private static void NotSupported(JsonElement? value, string field, string reason)
    {
        if (value is not { } set || set.ValueKind == JsonValueKind.Null) return;
        if (set.ValueKind == JsonValueKind.Array && set.GetArrayLength() == 0) return;
        if (set.ValueKind == JsonValueKind.Object && !set.EnumerateObject().Any()) return;
        if (field == "tool_choice" && set.ValueKind == JsonValueKind.String && set.GetString() == "none") return;
        throw new InvalidInputException($"'{field}' is not supported: {reason}.");
    }

    // A JSON string as text; one that escapes half of a surrogate pair (\ud800 alone) is no text.
    private static string Text(JsonElement value, string name)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException)
        {
            throw new InvalidInputException($"'{name}' is not valid text: it holds an unpaired UTF-16 surrogate escape (such as \\ud800 alone).");
        }
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        _ => kind.ToString().ToLowerInvariant(),
    };
}
