using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ModelKit.AspNetCore;

/// <summary>
/// A stream of JSON events as server-sent events, the way OpenAI streams: <c>text/event-stream</c>, each event one
/// <c>data: {json}</c> line and a blank line, flushed as it is made, then <c>data: [DONE]</c>. An error once the stream has
/// started (the status is sent) is one last <c>data: {error body}</c> event in the surface's error shape, without
/// <c>[DONE]</c>. A client that goes away cancels the events (<see cref="HttpContext.RequestAborted"/>) and is not an error.
/// </summary>
/// <param name="events">The events; enumerated with the request's abort token.</param>
/// <param name="errorBody">The surface's error body for an error raised while streaming.</param>
internal sealed partial class ServerSentEvents(IAsyncEnumerable<object> events, Func<HttpContext, SurfaceError, object> errorBody) : IResult
{
    /// <summary>The media type.</summary>
    public const string ContentType = "text/event-stream";

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        var aborted = httpContext.RequestAborted;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ContentType;
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // proxies such as nginx pass each event on at once
        httpContext.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

        ModelKitException? failure = null;
        try
        {
            await response.StartAsync(aborted);
            await foreach (var item in events.WithCancellation(aborted))
            {
                await WriteAsync(response, JsonSerializer.SerializeToUtf8Bytes(item, item.GetType(), ModelKitJson.Options), aborted);
            }

            await WriteAsync(response, "[DONE]"u8.ToArray(), aborted);
            return;
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return; // the client went away: the generation has stopped with it
        }
        catch (ModelKitException ex)
        {
            failure = ex;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var logger = httpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("ModelKit.AspNetCore");
            LogStreamFailed(logger, httpContext.Request.Method, httpContext.Request.Path, httpContext.TraceIdentifier, ex);
            failure = new InternalErrorException(
                $"An unexpected error stopped the stream; the server's log has the details under request id '{httpContext.TraceIdentifier}'.");
        }

        try
        {
            var body = errorBody(httpContext, SurfaceError.From(failure));
            await WriteAsync(response, JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), ModelKitJson.Options), aborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client went away while the error was written: nobody is left to tell.
        }
    }

    private static async Task WriteAsync(HttpResponse response, byte[] json, CancellationToken cancellationToken)
    {
        var writer = response.BodyWriter;
        writer.Write("data: "u8);
        writer.Write(json);
        writer.Write("\n\n"u8);
        await writer.FlushAsync(cancellationToken);
    }

    [LoggerMessage(3, LogLevel.Error, "Unexpected error while streaming {Method} {Path} (request {RequestId}).")]
    private static partial void LogStreamFailed(ILogger logger, string method, PathString path, string requestId, Exception exception);
}
