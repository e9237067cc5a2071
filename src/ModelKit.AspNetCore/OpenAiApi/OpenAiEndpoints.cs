using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Registry;
using ModelKit.Text;

namespace ModelKit.AspNetCore;

/// <summary>The OpenAI-compatible handlers: one Core call each, in OpenAI's shapes.</summary>
internal static class OpenAiEndpoints
{
    // The registry's models, then the remote ones (a remote id hides a registered model of the same id, as generation does).
    public static async Task<IResult> ListModelsAsync(HttpContext context, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var remote = context.RequestServices.GetService<IRemoteModelCatalog>();
        var models = new List<OpenAiModel>();
        foreach (var model in await registry.ListAllModelsAsync(cancellationToken: cancellationToken))
        {
            if (remote?.Find(model.Id) is null) models.Add(Of(model));
        }

        foreach (var model in remote?.Models ?? []) models.Add(Of(model));
        return ModelKitJson.Json(new OpenAiModelList(models));
    }

    public static async Task<IResult> GetModelAsync(string model, HttpContext context, IModelRegistry registry, CancellationToken cancellationToken)
    {
        var id = ModelIdRoute.FromSegment(model);
        if (context.RequestServices.GetService<IRemoteModelCatalog>()?.Find(id) is { } remote) return ModelKitJson.Json(Of(remote));
        return ModelKitJson.Json(Of(await registry.GetModelAsync(id, cancellationToken)));
    }

    public static async Task<IResult> EmbeddingsAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<EmbeddingsBody>(context.Request, cancellationToken);
        if (string.IsNullOrWhiteSpace(body.Model)) throw new InvalidInputException("'model' is required: the id of a registered text encoder (GET /v1/models lists them).");
        NotRemote(context, body.Model);
        var result = await ServiceOf(context).EmbedAsync(Embeddings.ToRequest(body.Model, body), cancellationToken);
        return ModelKitJson.Json(Embeddings.ToList(result, body.EncodingFormat));
    }

    public static async Task<IResult> ChatCompletionsAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<ChatCompletionBody>(context.Request, cancellationToken);
        var request = ChatBodies.ToRequest(ModelOf(body.Model), body);
        var (stream, includeUsage) = ChatBodies.Streaming(body.Stream, body.StreamOptions);
        return stream
            ? await TextGenerations.StreamAsync(context, request, chat: true, includeUsage, OpenAi.Body, cancellationToken)
            : ModelKitJson.Json(await TextGenerations.ChatAsync(context, request, cancellationToken));
    }

    public static async Task<IResult> CompletionsAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var body = await ModelKitJson.ReadAsync<CompletionBody>(context.Request, cancellationToken);
        var request = ChatBodies.ToRequest(ModelOf(body.Model), body);
        var (stream, includeUsage) = ChatBodies.Streaming(body.Stream, body.StreamOptions);
        return stream
            ? await TextGenerations.StreamAsync(context, request, chat: false, includeUsage, OpenAi.Body, cancellationToken)
            : ModelKitJson.Json(await TextGenerations.CompleteAsync(context, request, cancellationToken));
    }

    private static string ModelOf(string? model) =>
        string.IsNullOrWhiteSpace(model) ? throw new InvalidInputException("'model' is required: the id of a registered decoder or a remote model (GET /v1/models lists the models).") : model;

    /// <summary>UNSUPPORTED_TASK for a remote model: listed beside the registry's, but served for chat and completions only.</summary>
    internal static void NotRemote(HttpContext context, string modelId)
    {
        if (context.RequestServices.GetService<IRemoteModelCatalog>()?.Find(modelId) is { } remote)
        {
            throw new UnsupportedTaskException(
                $"'{remote.Id}' is a remote model (provider '{remote.Provider}'): this server relays its chat and completions, not embeddings.");
        }
    }

    /// <summary>The text embedding service; 501 when the host registered none (it comes with <c>AddOnnxRuntime()</c>).</summary>
    internal static ITextEmbeddingService ServiceOf(HttpContext context) =>
        context.RequestServices.GetService<ITextEmbeddingService>()
        ?? throw new NotBuiltException("This server has no text embedding service: the host must add a text backend (services.AddModelKit().AddOnnxRuntime()).");

    private static OpenAiModel Of(ModelInfo model) => new(model.Id, model.CreatedAt.ToUnixTimeSeconds(), "modelkit");

    private static OpenAiModel Of(RemoteModelInfo model) => new(model.Id, model.AddedAt.ToUnixTimeSeconds(), model.Provider);
}
