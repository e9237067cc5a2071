using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using ModelKit.AspNetCore;

namespace ModelKit.Grpc;

/// <summary>
/// The <c>google.rpc.Status</c> of a refusal written before a service runs (no key, no scope, too many failed keys),
/// with the same <c>ErrorInfo</c> (and <c>RetryInfo</c>) the interceptor's statuses carry.
/// </summary>
internal sealed class GrpcStatusDetails : IGrpcStatusDetails
{
    public string Encode(int grpcStatusCode, SurfaceError error, string requestId)
    {
        var info = new ErrorInfo { Reason = error.Code, Domain = GrpcErrors.Domain };
        info.Metadata["request_id"] = requestId;
        var status = new Google.Rpc.Status { Code = grpcStatusCode, Message = ModelKitProblems.Bounded(error.Message), Details = { Any.Pack(info) } };
        if (error.RetryAfterSeconds is { } seconds) status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds)) }));
        return Convert.ToBase64String(status.ToByteArray()).TrimEnd('='); // gRPC's binary metadata: base64, padding optional
    }
}
