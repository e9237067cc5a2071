using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>Seed 001's envelope: <c>{"code": 200, "message": "success", "data": …, "request_id": "…"}</c>; <c>code</c> is the HTTP status.</summary>
internal sealed record GatewayEnvelope<T>(int Code, string Message, T Data, string RequestId);

/// <summary>
/// Seed 001's error: the same envelope with <c>code</c> the HTTP status and <c>data</c> null, and the error code beside it
/// (<c>"error": "MODEL_NOT_FOUND"</c>, an extra field inside the documented envelope).
/// </summary>
internal sealed record GatewayError(
    int Code,
    string Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] object? Data,
    string RequestId,
    string Error,
    int? RetryAfter = null);

/// <summary>Writes seed 001's envelope and errors; every answer of one request carries the same <c>request_id</c>.</summary>
internal static class Gateway
{

    private static readonly object RequestIdKey = new();

    /// <summary>The request's id: a UUID made once per request (seed 001 writes <c>"request_id": "uuid"</c>).</summary>
    public static string RequestId(HttpContext context)
    {
        if (context.Items.TryGetValue(RequestIdKey, out var id) && id is string known) return known;
        var created = Guid.NewGuid().ToString();
        context.Items[RequestIdKey] = created;
        return created;
    }

    /// <summary>A success: the envelope around <paramref name="data"/> with <c>code</c> = <paramref name="status"/>.</summary>
    public static IResult Ok<T>(HttpContext context, T data, int status = StatusCodes.Status200OK) =>
        Results.Json(new GatewayEnvelope<T>(status, "success", data, RequestId(context)), ModelKitJson.Options, statusCode: status);

    /// <summary>The surface's error writer (<see cref="SurfaceMap"/> and the framework's answers use it too).</summary>
    public static readonly SurfaceErrorWriter Errors = static (context, error) =>
    {
        return Results.Json(
            new GatewayError(error.Status, error.Message, null, RequestId(context), error.Code, error.RetryAfterSeconds), ModelKitJson.Options, statusCode: error.Status);
    };
}
