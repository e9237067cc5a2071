using System.Globalization;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>Seed 004's success envelope: <c>{"success": true, "message", "data", "code", "timestamp"}</c>; <c>code</c> is the HTTP status.</summary>
internal sealed record LlmEnvelope<T>(bool Success, string Message, T Data, int Code, DateTimeOffset Timestamp);

/// <summary>
/// Seed 004's error: <c>{"success": false, "message", "error": "CODE", "timestamp"}</c>; health answers that report a
/// failure add what they found as <c>data</c>, QUEUE_FULL and RATE_LIMITED their <c>retry_after</c> seconds.
/// </summary>
internal sealed record LlmError(bool Success, string Message, string Error, DateTimeOffset Timestamp)
{
    public object? Data { get; init; }
    public int? RetryAfter { get; init; }
}

/// <summary>Writes seed 004's envelope and errors.</summary>
internal static class LlmManager
{

    /// <summary>The code of a model source ModelKit does not serve (seed 004's <c>INVALID_SOURCE</c>, 400).</summary>
    public const string InvalidSource = ModelKitErrorCodes.InvalidSource;

    /// <summary>Seed 004's code for an unknown download task (ModelKit's DOWNLOAD_NOT_FOUND).</summary>
    public const string TaskNotFound = "TASK_NOT_FOUND";

    /// <summary>Seed 004's code for an action the task's state does not allow (pausing a finished task …) or an unknown socket message.</summary>
    public const string InvalidAction = "INVALID_ACTION";

    /// <summary>Seed 004's paging: <c>page</c> ≥ 1 (default 1), <c>page_size</c> 1..100 (default 20); INVALID_INPUT otherwise.</summary>
    public static (int Page, int Size, int Skip) Paging(string? page, string? pageSize)
    {
        var number = Parse.Int(page, "page") ?? 1;
        var size = Parse.Int(pageSize, "page_size") ?? 20;
        if (number < 1) throw new InvalidInputException($"'page' must be 1 or more (was {number}).");
        if (size is < 1 or > 100) throw new InvalidInputException($"'page_size' must be 1..100 (was {size}).");
        var skip = (long)(number - 1) * size;
        if (skip > int.MaxValue) throw new InvalidInputException($"'page' {number} is past any result.");
        return (number, size, (int)skip);
    }

    /// <summary>A success with <paramref name="message"/> around <paramref name="data"/>.</summary>
    public static IResult Ok<T>(T data, string message = "success", int status = StatusCodes.Status200OK) =>
        Results.Json(new LlmEnvelope<T>(true, message, data, status, DateTimeOffset.UtcNow), ModelKitJson.Options, statusCode: status);

    /// <summary>The surface's error writer (<see cref="SurfaceMap"/> and the framework's answers use it too).</summary>
    public static readonly SurfaceErrorWriter Errors = static (context, error) =>
    {
        return Results.Json(
            new LlmError(false, error.Message, CodeOf(context, error.Code), DateTimeOffset.UtcNow) { RetryAfter = error.RetryAfterSeconds }, ModelKitJson.Options, statusCode: error.Status);
    };

    // Seed 004 names two download errors its own way: TASK_NOT_FOUND, and INVALID_ACTION for what a task's state refuses.
    private static string CodeOf(HttpContext context, string code) => code switch
    {
        ModelKitErrorCodes.DownloadNotFound => TaskNotFound,
        ModelKitErrorCodes.Conflict when context.Request.Path.Value?.Contains("/api/downloads/", StringComparison.OrdinalIgnoreCase) == true => InvalidAction,
        _ => code,
    };

    /// <summary>An error answer that also carries what was found (an unhealthy report).</summary>
    public static IResult Failure(int status, string code, string message, object data) =>
        Results.Json(new LlmError(false, ModelKitProblems.Bounded(message), code, DateTimeOffset.UtcNow) { Data = data }, ModelKitJson.Options, statusCode: status);

    /// <summary>
    /// Seed 004's model sources where only the registry can answer (categories, trending): <c>local</c> (or
    /// <c>registry</c>, or none) returns null; <c>huggingface</c> answers 501 (the hub has no such list ModelKit reads);
    /// any other source (<c>ollama</c> …) is INVALID_SOURCE.
    /// </summary>
    public static IResult? SourceError(HttpContext context, string? source, string field, string whatNeedsIt)
    {
        if (source is null || source.Equals("local", StringComparison.OrdinalIgnoreCase) || source.Equals("registry", StringComparison.OrdinalIgnoreCase)) return null;
        var shown = ClientText.Quote(source, 32);
        if (source.Equals("huggingface", StringComparison.OrdinalIgnoreCase))
        {
            throw new NotBuiltException($"'{field}' 'huggingface' is not served for {whatNeedsIt}: ModelKit reads the hub's search and model information only. Use '{field}=local' for the models registered here.");
        }

        return Errors(context, new SurfaceError(StatusCodes.Status400BadRequest, InvalidSource,
            $"'{field}' '{shown}' is not a model source ModelKit serves here: use 'local' (the registry) or 'huggingface' (the hub)."));
    }
}
