using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using ModelKit.AspNetCore;

namespace ModelKit.Grpc;

/// <summary>
/// ModelKit's errors as gRPC statuses, once for every service: the status code for the error code, the message, and a
/// <c>google.rpc.Status</c> in the <c>grpc-status-details-bin</c> trailer with <c>ErrorInfo</c> (reason: the ModelKit
/// code, domain <c>modelkit</c>, the request id) and, for errors that say when to retry, <c>RetryInfo</c>.
/// </summary>
internal static class GrpcErrors
{
    /// <summary>The domain of every <c>ErrorInfo</c> ModelKit sends.</summary>
    public const string Domain = "modelkit";

    /// <summary>The gRPC status code for a ModelKit error code.</summary>
    public static Code CodeFor(string errorCode) => errorCode switch
    {
        ModelKitErrorCodes.ModelNotFound or ModelKitErrorCodes.DeploymentNotFound or ModelKitErrorCodes.JobNotFound or ModelKitErrorCodes.DownloadNotFound or ModelKitProblems.NotFound => Code.NotFound,
        ModelKitErrorCodes.InvalidInput or ModelKitErrorCodes.InvalidModelConfig or ModelKitErrorCodes.UnsupportedTask or ModelKitErrorCodes.InvalidSource => Code.InvalidArgument,
        ModelKitErrorCodes.ModelAlreadyExists => Code.AlreadyExists,
        ModelKitErrorCodes.Conflict or ModelKitErrorCodes.DeploymentNotRunning => Code.FailedPrecondition,
        ModelKitErrorCodes.QueueFull or ModelKitErrorCodes.InsufficientResources or ModelKitErrorCodes.PayloadTooLarge or ModelKitErrorCodes.InsufficientStorage or ModelKitProblems.RateLimited => Code.ResourceExhausted,
        ModelKitErrorCodes.InferenceTimeout or ModelKitErrorCodes.ProviderTimeout => Code.DeadlineExceeded,
        ModelKitErrorCodes.DeviceUnavailable or ModelKitErrorCodes.ModelUnavailable or ModelKitErrorCodes.RegistryUnavailable or ModelKitErrorCodes.ProviderUnavailable or ModelKitErrorCodes.SourceUnavailable or ModelKitErrorCodes.IntegrityCheckFailed => Code.Unavailable,
        ModelKitProblems.Unauthorized => Code.Unauthenticated,
        ModelKitProblems.Forbidden => Code.PermissionDenied,
        ModelKitProblems.NotImplemented => Code.Unimplemented,
        _ => Code.Internal,
    };

    /// <summary>The call's failure for <paramref name="error"/>.</summary>
    public static RpcException ToRpcException(ModelKitException error, ServerCallContext context) =>
        ToRpcException(error.ErrorCode, error.Message, ModelKitProblems.RetryAfterSeconds(error), context);

    /// <summary>The call's failure for a ModelKit code and message.</summary>
    public static RpcException ToRpcException(string errorCode, string message, int? retryAfterSeconds, ServerCallContext context)
    {
        var info = new ErrorInfo { Reason = errorCode, Domain = Domain };
        info.Metadata["request_id"] = context.GetHttpContext().TraceIdentifier;
        var status = new Google.Rpc.Status
        {
            Code = (int)CodeFor(errorCode),
            Message = ModelKitProblems.Bounded(message),
            Details = { Any.Pack(info) },
        };
        if (retryAfterSeconds is { } seconds) status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(TimeSpan.FromSeconds(seconds)) }));
        return status.ToRpcException();
    }
}
