using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>
/// One error as every surface sees it before writing it in its own shape: the HTTP status, ModelKit's code
/// (<see cref="ModelKitErrorCodes"/> or <see cref="ModelKitProblems"/>' transport codes), a bounded message, the
/// <c>Retry-After</c> hint where the error has one, and details (seed 000's <c>error.details</c>) where known.
/// </summary>
internal sealed record SurfaceError(int Status, string Code, string Message, int? RetryAfterSeconds = null, IReadOnlyDictionary<string, object?>? Details = null)
{
    /// <summary>The error for <paramref name="exception"/>, with the status its code has.</summary>
    public static SurfaceError From(ModelKitException exception) =>
        new(ModelKitProblems.StatusFor(exception.ErrorCode), exception.ErrorCode, ModelKitProblems.Bounded(exception.Message), ModelKitProblems.RetryAfterSeconds(exception));

    /// <summary>An error with the status <paramref name="code"/> has.</summary>
    public static SurfaceError Of(string code, string message, int? retryAfterSeconds = null) =>
        new(ModelKitProblems.StatusFor(code), code, ModelKitProblems.Bounded(message), retryAfterSeconds);
}

/// <summary>Writes <paramref name="error"/> in a surface's error shape, with <see cref="SurfaceError.Status"/>.</summary>
internal delegate IResult SurfaceErrorWriter(HttpContext context, SurfaceError error);
