using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace ModelKit.LocalHub.Internal;

/// <summary>Error answers as the hub gives them: <c>{"error": "…"}</c> with <c>X-Error-Code</c> and <c>X-Error-Message</c>.</summary>
internal static class HubErrors
{
    public const string RepoNotFound = "RepoNotFound";
    public const string EntryNotFound = "EntryNotFound";
    public const string RevisionNotFound = "RevisionNotFound";

    // An application/json body read by programs: quotes and apostrophes need no HTML-safe escaping.
    private static readonly JsonSerializerOptions BodyOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Task RepoNotFoundAsync(HttpContext context, string repoId) =>
        WriteAsync(context, StatusCodes.Status404NotFound, RepoNotFound, $"Repository not found: '{repoId}' is not a folder {{owner}}/{{name}} under the local hub's root.");

    public static Task RevisionNotFoundAsync(HttpContext context, HubRepository repository, string revision) =>
        WriteAsync(context, StatusCodes.Status404NotFound, RevisionNotFound,
            $"Invalid rev id: '{revision}' for '{repository.Id}'; the local hub knows 'main' and the commit {repository.Commit}.");

    public static Task EntryNotFoundAsync(HttpContext context, HubRepository repository, string path) =>
        WriteAsync(context, StatusCodes.Status404NotFound, EntryNotFound, $"Entry not found: '{path}' is not a file of '{repository.Id}' at {repository.Commit}.");

    public static async Task WriteAsync(HttpContext context, int status, string? code, string message)
    {
        var response = context.Response;
        response.StatusCode = status;
        if (code is not null) response.Headers["X-Error-Code"] = code;
        response.Headers["X-Error-Message"] = HeaderSafe(message);
        response.ContentType = "application/json; charset=utf-8";
        var body = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string> { ["error"] = message }, BodyOptions);
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method)) await response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static string HeaderSafe(string text)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var c in text) builder.Append(c is >= ' ' and <= '~' ? c : '?');
        return builder.ToString();
    }
}
