using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ModelKit.AspNetCore;

/// <summary>
/// Gives the framework's bodiless error answers under a ModelKit surface that surface's error shape and a code: 404
/// NOT_FOUND for an unknown path, 405 METHOD_NOT_ALLOWED, 415 UNSUPPORTED_MEDIA_TYPE, 400 INVALID_INPUT for a route or
/// query value that does not bind (<c>page=abc</c>), 413 PAYLOAD_TOO_LARGE. Answers that already have a body pass.
/// </summary>
internal sealed class ModelKitSurfaceErrorsMiddleware(RequestDelegate next, ModelKitSurfaces surfaces)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (surfaces.Find(context.Request.Path) is not { } shape)
        {
            await next(context);
            return;
        }

        try
        {
            await next(context);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            context.Response.Clear();
            context.Response.StatusCode = ex.StatusCode;
            await WriteAsync(context, shape, ex.Message);
            return;
        }

        var response = context.Response;
        if (response.HasStarted || response.StatusCode < 400 || response.StatusCode >= 500 || response.ContentLength > 0 || response.ContentType is not null) return;
        await WriteAsync(context, shape, context.Features.Get<IBadRequestExceptionFeature>()?.Error?.Message);
    }

    private static Task WriteAsync(HttpContext context, SurfaceErrorWriter shape, string? reason)
    {
        var request = context.Request;
        var path = request.Path.Value ?? string.Empty;
        if (path.Length > 100) path = path[..100] + "…";
        var (code, message) = context.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => (ModelKitProblems.NotFound, $"There is no endpoint at {request.Method} {path}; see the API reference (/docs)."),
            StatusCodes.Status405MethodNotAllowed => (ModelKitProblems.MethodNotAllowed, $"{path} does not take {request.Method}."),
            StatusCodes.Status415UnsupportedMediaType => (ModelKitProblems.UnsupportedMediaType,
                $"{request.Method} {path} does not read '{Short(request.ContentType)}'; send application/json (or the endpoint's documented type)."),
            StatusCodes.Status413PayloadTooLarge => (ModelKitErrorCodes.PayloadTooLarge, "The request body is larger than this endpoint accepts."),
            _ => (ModelKitErrorCodes.InvalidInput, reason is null ? "The request could not be read." : Short(reason)),
        };
        return shape(context, new SurfaceError(context.Response.StatusCode, code, ModelKitProblems.Bounded(message))).ExecuteAsync(context);
    }

    private static string Short(string? text) => ClientText.Quote(text);
}

/// <summary>Puts <see cref="ModelKitSurfaceErrorsMiddleware"/> at the start of the host's pipeline.</summary>
internal sealed class ModelKitSurfaceErrorsStartupFilter : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.UseMiddleware<ModelKitSurfaceErrorsMiddleware>();
        app.UseWebSockets(); // seed 003's streaming socket (GET /inference/stream)
        next(app);
    };
}
