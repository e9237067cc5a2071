using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// The OpenAI-compatible surface at <c>/v1</c>: <c>GET /v1/models</c>, <c>GET /v1/models/{model}</c>,
/// <c>POST /v1/embeddings</c>, <c>POST /v1/chat/completions</c> and <c>POST /v1/completions</c> (whole or streamed as
/// server-sent events), with OpenAI's error objects (<c>{"error": {"message", "type", "param", "code"}}</c>), so that
/// OpenAI clients (the official <c>OpenAI</c> .NET library, Python's <c>openai</c>, LangChain …) work with the base URL
/// <c>…/v1</c> and an API key as the bearer token.
/// </summary>
public static class OpenAiApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "v1";

    /// <summary>Maps the OpenAI-compatible surface under <paramref name="prefix"/> (default: the root, so <c>/v1/…</c>).</summary>
    public static RouteGroupBuilder MapOpenAiApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, SurfaceMap.Normalize(prefix)).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string prefix)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapOpenAiApi()", "OpenAI-compatible", prefix + "/v1", OpenAi.Errors, typeof(OpenAiErrorBody), string.Empty);
        var group = surface.Group;
        var id = "OpenAi" + (surface.Prefix.Length > 0 ? surface.Prefix.Replace('/', '_') : string.Empty) + "_";
        surface.Secure(group.MapGet("/models", OpenAiEndpoints.ListModelsAsync), ModelKitScopes.Read)
            .WithName(id + "ListModels").WithSummary("Registered models").Produces<OpenAiModelList>();
        surface.Secure(group.MapGet("/models/{**model}", OpenAiEndpoints.GetModelAsync), ModelKitScopes.Read)
            .WithName(id + "GetModel").WithSummary("One model (ids may contain '/')").Produces<OpenAiModel>();
        surface.Secure(group.MapPost("/embeddings", OpenAiEndpoints.EmbeddingsAsync), ModelKitScopes.Infer)
            .WithName(id + "Embeddings").WithSummary("Text embeddings").Accepts<EmbeddingsBody>("application/json").Produces<EmbeddingsList>();
        surface.Secure(group.MapPost("/chat/completions", OpenAiEndpoints.ChatCompletionsAsync), ModelKitScopes.Infer)
            .WithName(id + "ChatCompletions").WithSummary("Chat completions of a decoder (stream: true answers server-sent chunks)")
            .Accepts<ChatCompletionBody>("application/json").Produces<ChatCompletion>();
        surface.Secure(group.MapPost("/completions", OpenAiEndpoints.CompletionsAsync), ModelKitScopes.Infer)
            .WithName(id + "Completions").WithSummary("Text completions of a decoder (stream: true answers server-sent chunks)")
            .Accepts<CompletionBody>("application/json").Produces<TextCompletion>();
        return surface;
    }
}
