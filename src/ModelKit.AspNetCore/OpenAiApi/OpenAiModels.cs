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
/// <param name="Created">When it was registered, in Unix seconds.</param>
/// <param name="OwnedBy">Who serves it: <c>modelkit</c>, this server's registry.</param>
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
        return Results.Json(new OpenAiErrorBody(new OpenAiError(error.Message, type, ParamOf(error.Message), error.Code.ToLowerInvariant())), ModelKitJson.Options, statusCode: error.Status);
    };

    // The request field a message is about, when it names one first ('input' …, input[3] …, 'dimensions' …).
    private static string? ParamOf(string message) =>
        message.StartsWith("'input'", StringComparison.Ordinal) || message.StartsWith("input[", StringComparison.Ordinal) ? "input"
        : message.StartsWith("'dimensions'", StringComparison.Ordinal) ? "dimensions"
        : message.StartsWith("'encoding_format'", StringComparison.Ordinal) ? "encoding_format"
        : message.StartsWith("'model'", StringComparison.Ordinal) ? "model"
        : null;
}
