using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Deployments;
using ModelKit.Text;

namespace ModelKit.AspNetCore;

/// <summary>
/// Seed 004's chat and completions: the deployment names the model and version; OpenAI's objects in the envelope, or
/// OpenAI's chunks as server-sent events with <c>stream: true</c> (the seed leaves streams undefined). A deployment that
/// is not running is DEPLOYMENT_NOT_RUNNING; a model that is not a decoder is the seed's CHAT_NOT_SUPPORTED (400).
/// </summary>
internal static class LlmChatEndpoints
{
    /// <summary>Seed 004's code for a deployment whose model cannot chat or complete text.</summary>
    public const string ChatNotSupported = "CHAT_NOT_SUPPORTED";

    public static async Task<IResult> ChatAsync(string deployment_id, HttpContext context, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var info = Serving(deployments, deployment_id);
        var body = await ModelKitJson.ReadAsync<ChatCompletionBody>(context.Request, cancellationToken);
        var request = ChatBodies.ToRequest(info.ModelId, body) with { Version = info.Version };
        var (stream, includeUsage) = ChatBodies.Streaming(body.Stream, body.StreamOptions);
        try
        {
            return stream
                ? await TextGenerations.StreamAsync(context, request, chat: true, includeUsage, StreamError, cancellationToken)
                : LlmManager.Ok(await TextGenerations.ChatAsync(context, request, cancellationToken));
        }
        catch (UnsupportedTaskException ex)
        {
            return NotSupported(context, info, ex);
        }
    }

    public static async Task<IResult> CompletionsAsync(string deployment_id, HttpContext context, IDeploymentManager deployments, CancellationToken cancellationToken)
    {
        var info = Serving(deployments, deployment_id);
        var body = await ModelKitJson.ReadAsync<CompletionBody>(context.Request, cancellationToken);
        var request = ChatBodies.ToRequest(info.ModelId, body) with { Version = info.Version };
        var (stream, includeUsage) = ChatBodies.Streaming(body.Stream, body.StreamOptions);
        try
        {
            return stream
                ? await TextGenerations.StreamAsync(context, request, chat: false, includeUsage, StreamError, cancellationToken)
                : LlmManager.Ok(await TextGenerations.CompleteAsync(context, request, cancellationToken));
        }
        catch (UnsupportedTaskException ex)
        {
            return NotSupported(context, info, ex);
        }
    }

    // The deployment, which must be serving (an unknown one is DEPLOYMENT_NOT_FOUND).
    private static DeploymentInfo Serving(IDeploymentManager deployments, string deploymentId)
    {
        var info = deployments.GetDeployment(deploymentId);
        return info.State == DeploymentState.Running
            ? info
            : throw new DeploymentNotRunningException(
                $"Deployment '{info.DeploymentId}' is {LlmVocabulary.DeploymentStatus(info.State)}, not running: start it (PUT /api/deployments/{info.DeploymentId}/restart) first.");
    }

    private static IResult NotSupported(HttpContext context, DeploymentInfo info, UnsupportedTaskException ex) =>
        LlmManager.Errors(context, new SurfaceError(StatusCodes.Status400BadRequest, ChatNotSupported,
            ModelKitProblems.Bounded($"Deployment '{info.DeploymentId}' cannot chat or complete text: {ex.Message}")));

    // An error after a stream started: the seed's error as the last event.
    private static object StreamError(HttpContext context, SurfaceError error) =>
        new LlmError(false, error.Message, error.Code, Now(context)) { RetryAfter = error.RetryAfterSeconds };

    private static DateTimeOffset Now(HttpContext context) => (context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System).GetUtcNow();
}
