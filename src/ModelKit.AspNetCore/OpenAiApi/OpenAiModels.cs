using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>OpenAI's error body: <c>{"error": {"message", "type", "param", "code"}}</c>.</summary>
internal sealed record OpenAiErrorBody(OpenAiError Error);

/// <summary>
/// One OpenAI error. <c>type</c> follows OpenAI's (<c>invalid_request_error</c>, <c>authentication_error</c>,
/// <c>permission_error</c>, <c>not_found_error</c>, <c>rate_limit_error</c>, <c>server_error</c> …); <c>code</c> is ModelKit's
/// error code in lower case (<c>model_not_found</c>, <c>invalid_input</c> …).
/// </summary>
internal sealed record OpenAiError(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    string Code);

/// <summary>A model as OpenAI lists it.</summary>
/// <param name="Id">The model id.</param>
/// <param name="Created">When it was registered (a remote model: when this server started serving it), in Unix seconds.</param>
/// <param name="OwnedBy">Who serves it: <c>modelkit</c>, this server's registry; a remote model's provider (<c>openai</c> …).</param>
internal sealed record OpenAiModel(string Id, long Created, string OwnedBy)
{
    public string Object { get; } = "model";
}

/// <summary>OpenAI's model list.</summary>
internal sealed record OpenAiModelList(IReadOnlyList<OpenAiModel> Data)
{
    public string Object { get; } = "list";
}

/// <summary>Writes OpenAI's error objects.</summary>
internal static class OpenAi
{
    public static readonly SurfaceErrorWriter Errors = static (context, error) =>
        Results.Json(Body(context, error), ModelKitJson.Options, statusCode: error.Status);

    /// <summary>The error object for <paramref name="error"/> (also sent as the last event of a stream that fails).</summary>
    public static object Body(HttpContext context, SurfaceError error)
    {
        var type = error.Status switch
        {
            StatusCodes.Status401Unauthorized => "authentication_error",
            StatusCodes.Status403Forbidden => "permission_error",
            StatusCodes.Status404NotFound => "not_found_error",
            StatusCodes.Status409Conflict => "conflict_error",
            StatusCodes.Status429TooManyRequests => "rate_limit_error",
            StatusCodes.Status501NotImplemented => "not_implemented_error",
            >= 500 => "server_error",
            _ => "invalid_request_error",
        };
        return new OpenAiErrorBody(new OpenAiError(error.Message, type, ParamOf(error.Message), error.Code.ToLowerInvariant()));
    }

    // The request field a message is about, when it names one first: 'input' …, 'messages[0].role' …, a value of the
    // wrong JSON type ("The value at $.temperature …"), or the generation service's "top_p must be …", "stop[1] is …"
    // (a request field named bare) → that field.
    internal static string? ParamOf(string message)
    {
        const string At = "The value at $.";
        var quoted = message.StartsWith('\'');
        var at = !quoted && message.StartsWith(At, StringComparison.Ordinal);
        var start = quoted ? 1 : at ? At.Length : 0;
        var end = start;
        while (end < message.Length && (char.IsAsciiLetterLower(message[end]) || message[end] == '_' || (end > start && char.IsAsciiDigit(message[end])))) end++;
        if (end == start || end == message.Length) return null;
        var next = message[end];
        var name = message[start..end];
        if (quoted) return next is '\'' or '[' or '.' ? name : null;   // 'stop' is …, 'messages[0].role' …
        if (at) return next is ' ' or '[' or '.' ? name : null;         // The value at $.stop[1] …
        return next == '[' || (next is ' ' or ':' or '.' && BareFields.Contains(name)) ? name : null; // input[3] …, top_p must …
    }

    // Request fields that messages may name without quotes (the text generation service's wording).
    private static readonly HashSet<string> BareFields =
    [
        "input", "prompt", "messages", "max_tokens", "temperature", "top_p", "top_k", "n", "stop", "presence_penalty", "frequency_penalty",
        "logprobs", "top_logprobs", "seed",
    ];
}
