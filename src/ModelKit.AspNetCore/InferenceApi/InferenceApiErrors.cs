using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>
/// Seed 003's error shape and its codes. The seed names six codes: UNSUPPORTED_TASK (400), MODEL_NOT_FOUND (404),
/// INVALID_INPUT (400), INFERENCE_FAILED (500), RESOURCE_EXHAUSTED and TIMEOUT. ModelKit's codes map onto them where one
/// means the same (QUEUE_FULL, INSUFFICIENT_RESOURCES and RATE_LIMITED → RESOURCE_EXHAUSTED; INFERENCE_TIMEOUT and
/// PROVIDER_TIMEOUT → TIMEOUT; PROVIDER_UNAVAILABLE → INFERENCE_FAILED; PAYLOAD_TOO_LARGE → INVALID_INPUT), keeping their HTTP status; the original code is then in
/// <c>details.modelkit_code</c>. Codes the seed has no word for (JOB_NOT_FOUND, DEPLOYMENT_NOT_RUNNING, UNAUTHORIZED …)
/// are sent as ModelKit names them.
/// </summary>
internal static class InferenceApiErrors
{
    /// <summary>The seed's codes that are not also ModelKit's.</summary>
    public const string ResourceExhausted = "RESOURCE_EXHAUSTED";

    /// <inheritdoc cref="ResourceExhausted"/>
    public const string Timeout = "TIMEOUT";


    /// <summary>The surface's <see cref="SurfaceErrorWriter"/>: every error of <c>/inference/…</c> in the seed's shape.</summary>
    public static readonly SurfaceErrorWriter Writer = static (context, error) => Write(context, error, type: null);

    /// <summary>Writes <paramref name="error"/> in the seed's shape, with <paramref name="type"/> or the code's type name.</summary>
    public static IResult Write(HttpContext context, SurfaceError error, string? type)
    {
        var code = SeedCode(error.Code);
        var details = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (error.Details is { } own)
        {
            foreach (var (key, value) in own) details[key] = value;
        }

        if (code != error.Code) details["modelkit_code"] = error.Code;
        if (error.RetryAfterSeconds is { } seconds) details["retry_after"] = seconds;
        if (Hint(code) is { } hint) details["hint"] = hint;
        details["request_id"] = context.TraceIdentifier;
        var body = new InferenceErrorResponse
        {
            Success = false,
            Error = new InferenceErrorDetail(type ?? TypeOf(code), ModelKitProblems.Bounded(error.Message), code, details),
            Timestamp = InferenceApiClock.Now(context),
        };
        return Results.Json(body, ModelKitJson.Options, statusCode: error.Status);
    }

    /// <summary>The code seed 003 sends for ModelKit's <paramref name="code"/> (the status stays ModelKit's).</summary>
    public static string SeedCode(string code) => code switch
    {
        ModelKitErrorCodes.QueueFull or ModelKitErrorCodes.InsufficientResources or ModelKitProblems.RateLimited => ResourceExhausted,
        ModelKitErrorCodes.InferenceTimeout or ModelKitErrorCodes.ProviderTimeout => Timeout,
        ModelKitErrorCodes.ProviderUnavailable => ModelKitErrorCodes.InferenceFailed,
        ModelKitErrorCodes.PayloadTooLarge => ModelKitErrorCodes.InvalidInput,
        _ => code,
    };

    /// <summary>
    /// <c>error.type</c>: the seed's own names where it shows them (<c>ModelNotFoundError</c>, <c>UnsupportedTaskError</c>,
    /// <c>InferenceError</c>), otherwise the code in PascalCase with <c>Error</c> (<c>TIMEOUT</c> → <c>TimeoutError</c>,
    /// <c>JOB_NOT_FOUND</c> → <c>JobNotFoundError</c>). Unsupported engines are <c>UnsupportedEngineError</c>.
    /// </summary>
    public static string TypeOf(string seedCode) => seedCode switch
    {
        ModelKitErrorCodes.InferenceFailed => "InferenceError",
        ModelKitErrorCodes.InternalError => "InternalError",
        _ => string.Concat(seedCode.Split('_', StringSplitOptions.RemoveEmptyEntries).Select(w => char.ToUpperInvariant(w[0]) + w[1..].ToLowerInvariant())) + "Error",
    };

    // The seed's handlers add a hint to these two; ModelKit's say where to look.
    private static string? Hint(string seedCode) => seedCode switch
    {
        ModelKitErrorCodes.ModelNotFound => "Check that the model is registered (GET /api/v1/models) and that 'model_name' is its id.",
        ModelKitErrorCodes.UnsupportedTask => "Check the task and engine against GET /inference/supported-tasks.",
        _ => null,
    };

    /// <summary>
    /// The surface's inner filter: an unsupported engine is INVALID_INPUT with its own type and the served engines in
    /// <c>details</c> (the group's filter, outside this one, writes every other error).
    /// </summary>
    public static void AddEngineErrors(RouteGroupBuilder group) => group.AddEndpointFilter(async (context, next) =>
    {
        try
        {
            return await next(context);
        }
        catch (UnsupportedEngineException ex)
        {
            var details = new Dictionary<string, object?> { ["engine"] = ex.Engine, ["supported_engines"] = UnsupportedEngineException.Served };
            return Write(context.HttpContext, new SurfaceError(StatusCodes.Status400BadRequest, ex.ErrorCode, ex.Message, Details: details), "UnsupportedEngineError");
        }
    });
}

/// <summary>The seed's timestamps: Unix time in seconds as a number (Python's <c>time.time()</c>), from the host's <see cref="TimeProvider"/>.</summary>
internal static class InferenceApiClock
{
    public static double Now(HttpContext context) => Seconds((context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow());

    public static double Seconds(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 1000.0;

    public static double? Seconds(DateTimeOffset? time) => time is { } t ? Seconds(t) : null;
}
