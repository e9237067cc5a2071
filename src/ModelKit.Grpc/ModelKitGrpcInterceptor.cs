using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelKit.AspNetCore;

namespace ModelKit.Grpc;

/// <summary>
/// Every ModelKit gRPC call passes here: the per-key rate limit first (RESOURCE_EXHAUSTED with RetryInfo), then every
/// <see cref="ModelKitException"/> becomes its status (<see cref="GrpcErrors"/>). A call the client cancelled, or whose
/// deadline passed, ends as CANCELLED or DEADLINE_EXCEEDED (gRPC's own); any other exception is a bug: INTERNAL naming
/// only the request id, and the log has it.
/// </summary>
internal sealed partial class ModelKitGrpcInterceptor(ModelKitRateLimiter limiter, IHostApplicationLifetime lifetime, ILogger<ModelKitGrpcInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            Admit(context);
            return await continuation(request, context);
        }
        catch (Exception ex) when (Translate(ex, context) is { } failure)
        {
            throw failure;
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            Admit(context);
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (Translate(ex, context) is { } failure)
        {
            throw failure;
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            Admit(context);
            return await continuation(requestStream, context);
        }
        catch (Exception ex) when (Translate(ex, context) is { } failure)
        {
            throw failure;
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            Admit(context);
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception ex) when (Translate(ex, context) is { } failure)
        {
            throw failure;
        }
    }

    private void Admit(ServerCallContext context) => limiter.Acquire(context.GetHttpContext());

    // Null: let the exception through as it is (an RpcException already, or the call's own cancellation).
    private RpcException? Translate(Exception exception, ServerCallContext context)
    {
        switch (exception)
        {
            case RpcException:
                return null;
            case ModelKitException known:
                return GrpcErrors.ToRpcException(known, context);
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return context.Deadline <= TimeProvider.System.GetUtcNow().UtcDateTime // gRPC's deadlines are wall-clock DateTimes
                    ? new RpcException(new Status(StatusCode.DeadlineExceeded, "The call's deadline passed."))
                    : new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
            case OperationCanceledException when lifetime.ApplicationStopping.IsCancellationRequested:
                return new RpcException(new Status(StatusCode.Unavailable, "The server is stopping; send the request again to another instance."));
            case BadHttpRequestException bad:
                return GrpcErrors.ToRpcException(
                    bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? ModelKitErrorCodes.PayloadTooLarge : ModelKitErrorCodes.InvalidInput,
                    "The request could not be read: " + bad.Message, null, context);
            default:
                var requestId = context.GetHttpContext().TraceIdentifier;
                LogUnhandled(logger, context.Method, requestId, exception);
                return GrpcErrors.ToRpcException(ModelKitErrorCodes.InternalError,
                    $"An unexpected error occurred; the server's log has the details under request id '{requestId}'.", null, context);
        }
    }

    [LoggerMessage(EventId = 5000, Level = LogLevel.Error, Message = "Unhandled exception in gRPC method {Method} (request id {RequestId}).")]
    private static partial void LogUnhandled(ILogger logger, string method, string requestId, Exception exception);
}
