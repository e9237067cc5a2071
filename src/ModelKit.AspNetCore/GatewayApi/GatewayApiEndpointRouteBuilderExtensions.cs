using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using ModelKit.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Seed 001, the gateway API: models and local model management at <c>/models…</c>, in the envelope <c>{"code", "message", "data", "request_id"}</c>.</summary>
public static class GatewayApiEndpointRouteBuilderExtensions
{
    /// <summary>The surface's id in <see cref="ModelKitAuthOptions.AnonymousSurfaces"/>.</summary>
    public const string SurfaceId = "001";

    /// <summary>Maps seed 001 under <paramref name="prefix"/> (default: the seed's own <c>/models…</c>).</summary>
    public static RouteGroupBuilder MapGatewayApi(this IEndpointRouteBuilder endpoints, string? prefix = null) => Map(endpoints, prefix).Group;

    internal static SurfaceMap Map(IEndpointRouteBuilder endpoints, string? prefix)
    {
        var surface = SurfaceMap.Create(endpoints, SurfaceId, "MapGatewayApi()", "Seed 001 · gateway API", prefix, Gateway.Errors, typeof(GatewayError), "/models");
        var group = surface.Group;
        surface.Secure(group.MapGet("/models", GatewayEndpoints.ListModelsAsync), ModelKitScopes.Read)
            .WithName("Seed001_ListModels").WithSummary("Available models").Produces<GatewayEnvelope<GatewayModelList>>();
        surface.Secure(group.MapGet("/models/{model_id}", GatewayEndpoints.GetModelAsync), ModelKitScopes.Read)
            .WithName("Seed001_GetModel").WithSummary("A model's details and measured stats").Produces<GatewayEnvelope<GatewayModelDetail>>();

        surface.Secure(group.MapPost("/models/{model_id}/completions", GatewayEndpoints.CompletionsAsync), ModelKitScopes.Infer)
            .WithName("Seed001_Completions").WithSummary("Text completion of a decoder (stream: true answers server-sent chunks)").Accepts<CompletionBody>("application/json")
            .Produces<GatewayEnvelope<TextCompletion>>();
        surface.Secure(group.MapPost("/models/{model_id}/chat/completions", GatewayEndpoints.ChatAsync), ModelKitScopes.Infer)
            .WithName("Seed001_ChatCompletions").WithSummary("Chat completion of a decoder (stream: true answers server-sent chunks)").Accepts<ChatCompletionBody>("application/json")
            .Produces<GatewayEnvelope<ChatCompletion>>();
        surface.Secure(group.MapPost("/models/{model_id}/embeddings", GatewayEndpoints.EmbeddingsAsync), ModelKitScopes.Infer)
            .WithName("Seed001_Embeddings").WithSummary("Text embeddings of a text encoder (OpenAI's list in the envelope)").Accepts<EmbeddingsBody>("application/json")
            .Produces<GatewayEnvelope<EmbeddingsList>>();

        surface.Secure(group.MapGet("/models/local", GatewayEndpoints.LocalModelsAsync), ModelKitScopes.Read)
            .WithName("Seed001_ListLocalModels").WithSummary("Deployed (local) models").Produces<GatewayEnvelope<GatewayLocalModelList>>();
        surface.Secure(group.MapPost("/models/local/deploy", GatewayEndpoints.DeployAsync), ModelKitScopes.Manage)
            .WithName("Seed001_DeployLocalModel").WithSummary("Deploy a registered model").Accepts<LocalDeployBody>("application/json")
            .Produces<GatewayEnvelope<GatewayDeployAccepted>>();
        surface.Secure(group.MapGet("/models/local/deployments/{deployment_id}", GatewayEndpoints.ProgressAsync), ModelKitScopes.Read)
            .WithName("Seed001_DeploymentStatus").WithSummary("A deployment's progress, stages and log").Produces<GatewayEnvelope<GatewayDeploymentProgress>>();
        surface.Secure(group.MapDelete("/models/local/{model_id}", GatewayEndpoints.UnloadAsync), ModelKitScopes.Manage)
            .WithName("Seed001_UnloadLocalModel").WithSummary("Unload a model: stop and delete its deployment").Produces<GatewayEnvelope<GatewayUnloaded>>();

        // Ids of the Hugging Face form org/name as two path segments (an escaped %2F works on the routes above).
        surface.Secure(group.MapGet("/models/{org}/{name}", GatewayEndpoints.GetOrgModelAsync), ModelKitScopes.Read).ExcludeFromDescription();
        // They accept JSON like the routes above, so a body of another type is 415 on both, instead of falling through from
        // /models/{model_id}/chat/completions to /models/{org}/{name}/completions with 'chat' as the name.
        surface.Secure(group.MapPost("/models/{org}/{name}/completions", GatewayEndpoints.OrgCompletionsAsync), ModelKitScopes.Infer)
            .Accepts<CompletionBody>("application/json").ExcludeFromDescription();
        surface.Secure(group.MapPost("/models/{org}/{name}/chat/completions", GatewayEndpoints.OrgChatAsync), ModelKitScopes.Infer)
            .Accepts<ChatCompletionBody>("application/json").ExcludeFromDescription();
        surface.Secure(group.MapPost("/models/{org}/{name}/embeddings", GatewayEndpoints.OrgEmbeddingsAsync), ModelKitScopes.Infer)
            .Accepts<EmbeddingsBody>("application/json").ExcludeFromDescription();
        surface.Secure(group.MapDelete("/models/local/{org}/{name}", GatewayEndpoints.UnloadOrgAsync), ModelKitScopes.Manage).ExcludeFromDescription();
        return surface;
    }
}
