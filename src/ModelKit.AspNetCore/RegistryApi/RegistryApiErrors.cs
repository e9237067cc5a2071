namespace ModelKit.AspNetCore;

/// <summary>Writes errors in seed 002's envelope.</summary>
internal static class RegistryApiErrors
{
    public static readonly SurfaceErrorWriter Writer = static (context, error) => ModelKitJson.Json(new RegistryErrorResponse
    {
        Code = error.Status,
        Message = error.Message,
        Error = error.Code,
        RequestId = context.TraceIdentifier,
        RetryAfter = error.RetryAfterSeconds,
        Timestamp = DateTimeOffset.UtcNow,
    }, error.Status);
}
