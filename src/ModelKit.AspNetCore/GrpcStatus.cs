using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace ModelKit.AspNetCore;

/// <summary>
/// A refusal that happens before a gRPC service runs (authentication, authorization), written the way gRPC clients read
/// one: HTTP 200 with <c>grpc-status</c> and a percent-encoded <c>grpc-message</c> in the headers (a trailers-only response).
/// </summary>
internal static class GrpcStatus
{
    /// <summary>Whether <paramref name="request"/> is a gRPC call (<c>application/grpc</c>, any suffix).</summary>
    public static bool IsGrpc(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase);

    /// <summary>The gRPC status code for a transport error code: UNAUTHENTICATED (16), PERMISSION_DENIED (7), RESOURCE_EXHAUSTED (8), else UNKNOWN (2).</summary>
    public static int CodeFor(string errorCode) => errorCode switch
    {
        ModelKitProblems.Unauthorized => 16,
        ModelKitProblems.Forbidden => 7,
        ModelKitProblems.RateLimited => 8,
        _ => 2,
    };

    public static Task WriteAsync(HttpContext context, SurfaceError error)
    {
        // The gRPC adapter adds the google.rpc.Status details (ErrorInfo, RetryInfo) its own statuses carry.
        if (context.RequestServices.GetService(typeof(IGrpcStatusDetails)) is IGrpcStatusDetails details)
        {
            context.Response.Headers["grpc-status-details-bin"] = details.Encode(CodeFor(error.Code), error, context.TraceIdentifier);
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = context.Request.ContentType; // application/grpc, or the +proto / -web variant the client spoke
        response.Headers["grpc-status"] = CodeFor(error.Code).ToString(CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = Uri.EscapeDataString(ModelKitProblems.Bounded(error.Message));
        return Task.CompletedTask;
    }
}

/// <summary>
/// Encodes a refusal as gRPC's <c>grpc-status-details-bin</c> value (a base64 <c>google.rpc.Status</c>); registered by
/// the gRPC adapter, which has the protobuf types.
/// </summary>
internal interface IGrpcStatusDetails
{
    string Encode(int grpcStatusCode, SurfaceError error, string requestId);
}
