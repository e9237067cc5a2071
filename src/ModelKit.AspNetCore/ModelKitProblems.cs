using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>
/// The one place where ModelKit's error codes become HTTP: an RFC 9457 problem details body whose
/// <c>code</c> member carries the seed's error code, with the matching status (and <c>Retry-After</c> for QUEUE_FULL).
/// </summary>
public static class ModelKitProblems
{
    /// <summary>No or an unknown API key (401).</summary>
    public const string Unauthorized = "UNAUTHORIZED";

    /// <summary>The API key lacks the endpoint's scope (403).</summary>
    public const string Forbidden = "FORBIDDEN";

    /// <summary>The API key's request budget is spent (429, with Retry-After).</summary>
    public const string RateLimited = "RATE_LIMITED";

    /// <summary>No endpoint at the request's path (404).</summary>
    public const string NotFound = "NOT_FOUND";

    /// <summary>The path exists but not for the request's method (405).</summary>
    public const string MethodNotAllowed = "METHOD_NOT_ALLOWED";

    /// <summary>The body's media type is not one the endpoint reads (415).</summary>
    public const string UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE";

    /// <summary>The endpoint's feature is not built yet (501); the message names the issue it arrives with.</summary>
    public const string NotImplemented = "NOT_IMPLEMENTED";

    /// <summary>The HTTP status for an error code.</summary>
    public static int StatusFor(string errorCode) => errorCode switch
    {
        Unauthorized => StatusCodes.Status401Unauthorized,
        Forbidden => StatusCodes.Status403Forbidden,
        RateLimited => StatusCodes.Status429TooManyRequests,
        NotFound => StatusCodes.Status404NotFound,
        MethodNotAllowed => StatusCodes.Status405MethodNotAllowed,
        UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        NotImplemented => StatusCodes.Status501NotImplemented,
        ModelKitErrorCodes.ModelNotFound or ModelKitErrorCodes.DeploymentNotFound or ModelKitErrorCodes.JobNotFound or ModelKitErrorCodes.DownloadNotFound => StatusCodes.Status404NotFound,
        ModelKitErrorCodes.ModelAlreadyExists or ModelKitErrorCodes.Conflict or ModelKitErrorCodes.DeploymentNotRunning => StatusCodes.Status409Conflict,
        ModelKitErrorCodes.InvalidInput or ModelKitErrorCodes.InvalidModelConfig or ModelKitErrorCodes.UnsupportedTask or ModelKitErrorCodes.InvalidSource => StatusCodes.Status400BadRequest,
        ModelKitErrorCodes.InferenceTimeout => StatusCodes.Status408RequestTimeout,
        ModelKitErrorCodes.QueueFull => StatusCodes.Status429TooManyRequests,
        ModelKitErrorCodes.InsufficientResources or ModelKitErrorCodes.DeviceUnavailable or ModelKitErrorCodes.ModelUnavailable or ModelKitErrorCodes.RegistryUnavailable => StatusCodes.Status503ServiceUnavailable,
        ModelKitErrorCodes.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        ModelKitErrorCodes.ProviderUnavailable or ModelKitErrorCodes.SourceUnavailable or ModelKitErrorCodes.IntegrityCheckFailed => StatusCodes.Status502BadGateway,
        ModelKitErrorCodes.InsufficientStorage => StatusCodes.Status507InsufficientStorage,
        ModelKitErrorCodes.ProviderTimeout => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The problem details result for <paramref name="error"/>.</summary>
    public static IResult ToResult(ModelKitException error, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(error);
        return Problem(context, error.ErrorCode, error.Message, RetryAfterSeconds(error));
    }

    /// <summary>Writes a <see cref="SurfaceError"/> as problem details (the shape of surfaces that have none of their own).</summary>
    internal static readonly SurfaceErrorWriter Writer = static (context, error) => Problem(context, error.Code, error.Message, error.RetryAfterSeconds, error.Status);

    /// <summary>A problem details result for <paramref name="code"/>, with the status (unless given), title and type that code has.</summary>
    internal static IResult Problem(HttpContext context, string code, string detail, int? retryAfterSeconds = null, int? status = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        var extensions = new Dictionary<string, object?>
        {
            ["code"] = code,
            ["request_id"] = context.TraceIdentifier,
            ["timestamp"] = DateTimeOffset.UtcNow,
        };
        if (retryAfterSeconds is { } seconds) extensions["retry_after"] = seconds;

        return Results.Problem(
            detail: Bounded(detail),
            statusCode: status ?? StatusFor(code),
            title: Title(code),
            type: "urn:modelkit:error:" + code.ToLowerInvariant().Replace('_', '-'),
            instance: context.Request.Path.Value is { Length: > 100 } path ? path[..100] + "…" : context.Request.Path.Value,
            extensions: extensions);
    }

    /// <summary>
    /// An error message as sent: messages quote client input (ids, values) in short pieces, and this bounds the whole, so
    /// that no request is echoed back at length whatever it held.
    /// </summary>
    internal static string Bounded(string message) => message.Length <= MaxMessageLength ? message : message[..MaxMessageLength] + "…";

    /// <summary>The longest error message sent: 400 characters.</summary>
    internal const int MaxMessageLength = 400;

    /// <summary>Sets <c>Retry-After</c> for QUEUE_FULL and RATE_LIMITED (the errors that carry a hint).</summary>
    public static void SetRetryAfter(ModelKitException error, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (RetryAfterSeconds(error) is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
    }

    internal static int? RetryAfterSeconds(ModelKitException error) => error switch
    {
        QueueFullException full => Math.Max(1, (int)Math.Ceiling(full.RetryAfter.TotalSeconds)),
        RateLimitedException limited => Math.Max(1, (int)Math.Ceiling(limited.RetryAfter.TotalSeconds)),
        RegistryUnavailableException unavailable => Math.Max(1, (int)Math.Ceiling(unavailable.RetryAfter.TotalSeconds)),
        _ => null,
    };

    private static string Title(string code) => code switch
    {
        ModelKitErrorCodes.ModelNotFound => "Model not found",
        ModelKitErrorCodes.ModelAlreadyExists => "Model already exists",
        ModelKitErrorCodes.InvalidModelConfig => "Invalid model configuration",
        ModelKitErrorCodes.InvalidInput => "Invalid input",
        ModelKitErrorCodes.InferenceTimeout => "Inference timed out",
        ModelKitErrorCodes.InferenceFailed => "Inference failed",
        ModelKitErrorCodes.InsufficientResources => "Insufficient resources",
        ModelKitErrorCodes.QueueFull => "Queue full",
        ModelKitErrorCodes.DeploymentFailed => "Deployment failed",
        ModelKitErrorCodes.DeploymentNotFound => "Deployment not found",
        ModelKitErrorCodes.DeploymentNotRunning => "Deployment not running",
        ModelKitErrorCodes.JobNotFound => "Job not found",
        ModelKitErrorCodes.DeviceUnavailable => "Device unavailable",
        ModelKitErrorCodes.PayloadTooLarge => "Payload too large",
        ModelKitErrorCodes.UnsupportedTask => "Unsupported task",
        ModelKitErrorCodes.InternalError => "Internal error",
        ModelKitErrorCodes.ModelUnavailable => "Model unavailable",
        ModelKitErrorCodes.RegistryUnavailable => "Registry unavailable",
        ModelKitErrorCodes.ProviderUnavailable => "Provider unavailable",
        ModelKitErrorCodes.ProviderTimeout => "Provider timed out",
        ModelKitErrorCodes.SourceUnavailable => "Model source unavailable",
        ModelKitErrorCodes.InvalidSource => "Invalid model source",
        ModelKitErrorCodes.DownloadNotFound => "Download not found",
        ModelKitErrorCodes.InsufficientStorage => "Insufficient storage",
        ModelKitErrorCodes.IntegrityCheckFailed => "Integrity check failed",
        Unauthorized => "Unauthorized",
        NotFound => "Not found",
        MethodNotAllowed => "Method not allowed",
        UnsupportedMediaType => "Unsupported media type",
        NotImplemented => "Not implemented",
        Forbidden => "Forbidden",
        RateLimited => "Rate limited",
        _ => "Conflict",
    };
}
