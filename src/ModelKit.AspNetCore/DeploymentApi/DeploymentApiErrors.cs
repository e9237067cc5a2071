using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>Writes errors in seed 000's shape.</summary>
internal static class DeploymentApiErrors
{
    /// <summary>The longest route value quoted back in <c>details</c>.</summary>
    private const int MaxQuoted = 100;

    public static readonly SurfaceErrorWriter Writer = static (context, error) => ModelKitJson.Json(Body(context, error), error.Status);

    public static DeploymentErrorResponse Body(HttpContext context, SurfaceError error)
    {
        var details = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (context.Request.RouteValues.TryGetValue("model_id", out var id) && id is string modelId) details["model_id"] = Bounded(modelId);
        if (error.Details is { } extra)
        {
            foreach (var (key, value) in extra) details[key] = value;
        }

        if (error.RetryAfterSeconds is { } seconds) details["retry_after_seconds"] = seconds;
        details["request_id"] = context.TraceIdentifier;
        return new DeploymentErrorResponse
        {
            Error = new DeploymentError { Code = error.Code, Message = error.Message, Details = details },
            Timestamp = DateTimeOffset.UtcNow,
        };
    }

    /// <summary>Client text quoted back: at most 100 characters.</summary>
    public static string Bounded(string text) => ClientText.Quote(text, MaxQuoted);
}
