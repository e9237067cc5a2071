using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>
/// The one place where ModelKit's error codes become HTTP: an RFC 9457 problem details body whose
/// <c>code</c> member carries the seed's error code, with the matching status (and <c>Retry-After</c> for QUEUE_FULL).
/// </summary>
public static class ModelKitProblems
{
    /// <summary>The HTTP status for an error code.</summary>
    public static int StatusFor(string errorCode) => errorCode switch
    {
        ModelKitErrorCodes.ModelNotFound or ModelKitErrorCodes.DeploymentNotFound or ModelKitErrorCodes.JobNotFound => StatusCodes.Status404NotFound,
        ModelKitErrorCodes.ModelAlreadyExists or ModelKitErrorCodes.Conflict or ModelKitErrorCodes.DeploymentNotRunning => StatusCodes.Status409Conflict,
        ModelKitErrorCodes.InvalidInput or ModelKitErrorCodes.InvalidModelConfig or ModelKitErrorCodes.UnsupportedTask => StatusCodes.Status400BadRequest,
        ModelKitErrorCodes.InferenceTimeout => StatusCodes.Status408RequestTimeout,
        ModelKitErrorCodes.QueueFull => StatusCodes.Status429TooManyRequests,
        ModelKitErrorCodes.InsufficientResources or ModelKitErrorCodes.DeviceUnavailable => StatusCodes.Status503ServiceUnavailable,
        ModelKitErrorCodes.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status500InternalServerError,
    };

    /// <summary>The problem details result for <paramref name="error"/>.</summary>
    public static IResult ToResult(ModelKitException error, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(context);
        var status = StatusFor(error.ErrorCode);
        var extensions = new Dictionary<string, object?>
        {
            ["code"] = error.ErrorCode,
            ["request_id"] = context.TraceIdentifier,
            ["timestamp"] = DateTimeOffset.UtcNow,
        };
        if (RetryAfterSeconds(error) is { } seconds) extensions["retry_after"] = seconds;

        return Results.Problem(
            detail: error.Message,
            statusCode: status,
            title: Title(error.ErrorCode),
            type: "urn:modelkit:error:" + error.ErrorCode.ToLowerInvariant().Replace('_', '-'),
            instance: context.Request.Path,
            extensions: extensions);
    }

    /// <summary>Sets <c>Retry-After</c> for QUEUE_FULL (the one error that carries a hint).</summary>
    public static void SetRetryAfter(ModelKitException error, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (RetryAfterSeconds(error) is { } seconds) context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
    }

    private static int? RetryAfterSeconds(ModelKitException error) =>
        error is QueueFullException full ? Math.Max(1, (int)Math.Ceiling(full.RetryAfter.TotalSeconds)) : null;

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
        _ => "Conflict",
    };
}
