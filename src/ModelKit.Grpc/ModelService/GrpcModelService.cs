using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelKit.AspNetCore;
using ModelKit.Deployments;
using ModelKit.Grpc.Model;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Serving;
using ModelKit.Text;
using ChatCompletionChunk = ModelKit.Grpc.Model.ChatCompletionChunk;

namespace ModelKit.Grpc;

/// <summary>
/// Seed 001's <c>model.ModelService</c>: the gateway's REST API (<c>/models…</c>) over gRPC, without the envelope. Each
/// RPC is one call into the Core services REST's seed 001 calls, shaped by <see cref="ModelServiceMessages"/>; failures
/// are ModelKit exceptions, which the interceptor turns into statuses. The streaming RPCs run the generation with the
/// call's cancellation token: a client that leaves, or a deadline that passes, stops it (<see cref="GenerationStreams"/>);
/// a host that stops ends it with UNAVAILABLE (<see cref="ServerStreams"/>).
/// </summary>
internal sealed class GrpcModelService(
    IModelRegistry registry,
    IDeploymentManager deployments,
    IModelRouter router,
    IOptions<InferenceOptions> inference,
    TimeProvider timeProvider,
    IHostApplicationLifetime lifetime)
    : Model.ModelService.ModelServiceBase
{
    public override async Task<ListModelsResponse> ListModels(ListModelsRequest request, ServerCallContext context)
    {
        var (local, remote) = await GatewayRules.ListAsync(registry, RemoteCatalog(context), context.CancellationToken);
        var response = new ListModelsResponse();
        foreach (var model in local) response.Models.Add(ModelServiceMessages.Listed(model, deployments.FindByModel(model.Id), inference.Value));
        foreach (var model in remote) response.Models.Add(ModelServiceMessages.Listed(model));
        return response;
    }

    public override async Task<GetModelResponse> GetModel(GetModelRequest request, ServerCallContext context)
    {
        var modelId = ModelServiceRequests.Required(request.ModelId, "model_id", "the id of a registered model (ListModels lists them)");
        if (RemoteCatalog(context) is { } catalog && catalog.Find(modelId) is { } remote)
        {
            return ModelServiceMessages.Detail(remote, catalog.GetStats(remote.Id));
        }

        var model = await registry.GetModelAsync(modelId, context.CancellationToken);
        return ModelServiceMessages.Detail(model, deployments.FindByModel(model.Id), router.GetQueueStats(model.Id), inference.Value);
    }

    public override async Task<CompletionResponse> CreateCompletion(CompletionRequest request, ServerCallContext context)
    {
        NotStreamed(request.Stream, nameof(CreateCompletionStream));
        var result = await Generation(context).GenerateAsync(ModelServiceRequests.ToRequest(request), context.CancellationToken);
        return ModelServiceMessages.Completion(result, Now());
    }

    public override Task CreateCompletionStream(CompletionRequest request, IServerStreamWriter<CompletionChunk> responseStream, ServerCallContext context) =>
        ServerStreams.RunAsync(lifetime, context, token => GenerationStreams.CompletionAsync(Generation(context), ModelServiceRequests.ToRequest(request), responseStream, Now(), token));

    public override async Task<ChatCompletionResponse> CreateChatCompletion(ChatCompletionRequest request, ServerCallContext context)
    {
        NotStreamed(request.Stream, nameof(CreateChatCompletionStream));
        var result = await Generation(context).GenerateAsync(ModelServiceRequests.ToRequest(request), context.CancellationToken);
        return ModelServiceMessages.ChatCompletion(result, Now());
    }

    public override Task CreateChatCompletionStream(ChatCompletionRequest request, IServerStreamWriter<ChatCompletionChunk> responseStream, ServerCallContext context) =>
        ServerStreams.RunAsync(lifetime, context, token => GenerationStreams.ChatAsync(Generation(context), ModelServiceRequests.ToRequest(request), responseStream, Now(), token));

    public override async Task<EmbeddingsResponse> CreateEmbeddings(EmbeddingsRequest request, ServerCallContext context)
    {
        var embedding = ModelServiceRequests.ToRequest(request);
        var http = context.GetHttpContext();
        OpenAiEndpoints.NotRemote(http, embedding.ModelId);
        var result = await OpenAiEndpoints.ServiceOf(http).EmbedAsync(embedding, context.CancellationToken);
        return ModelServiceMessages.Embeddings(result);
    }

    public override async Task<ListLocalModelsResponse> ListLocalModels(ListLocalModelsRequest request, ServerCallContext context)
    {
        var response = new ListLocalModelsResponse();
        foreach (var deployment in deployments.ListDeployments())
        {
            var model = await registry.FindModelAsync(deployment.ModelId, context.CancellationToken);
            response.Models.Add(ModelServiceMessages.Local(deployment, model?.Name ?? deployment.ModelId));
        }

        return response;
    }

    public override async Task<DeployLocalModelResponse> DeployLocalModel(DeployLocalModelRequest request, ServerCallContext context)
    {
        var spec = ModelServiceRequests.ToSpec(request);
        var downloads = context.GetHttpContext().RequestServices.GetRequiredService<IOptions<ModelKit.Downloads.DownloadOptions>>().Value;
        spec = spec with { Source = await GatewayRules.CatalogueSourceAsync(registry, downloads, spec.ModelId, context.CancellationToken) };
        var info = await deployments.DeployAsync(spec, context.CancellationToken);
        return ModelServiceMessages.Deployed(info, ProgressUrl(context, info.DeploymentId), ModelServiceRequests.NotesOn(request));
    }

    public override async Task<GetDeploymentStatusResponse> GetDeploymentStatus(GetDeploymentStatusRequest request, ServerCallContext context)
    {
        var info = deployments.GetDeployment(ModelServiceRequests.Required(request.DeploymentId, "deployment_id", "the id DeployLocalModel answered (ListLocalModels lists them)"));
        return ModelServiceMessages.Progress(info, await deployments.GetLogsAsync(info.DeploymentId, 100, context.CancellationToken));
    }

    public override async Task<UnloadLocalModelResponse> UnloadLocalModel(UnloadLocalModelRequest request, ServerCallContext context)
    {
        var modelId = ModelServiceRequests.Required(request.ModelId, "model_id", "the id of a deployed model (ListLocalModels lists them)");
        var info = await GatewayRules.UnloadAsync(registry, deployments, modelId, context.CancellationToken);
        return new UnloadLocalModelResponse { ModelId = info.ModelId, Status = "unloaded", Nodes = { Environment.MachineName }, DeploymentId = info.DeploymentId };
    }

    private long Now() => timeProvider.GetUtcNow().ToUnixTimeSeconds();

    private static ITextGenerationService Generation(ServerCallContext context) => TextGenerations.ServiceOf(context.GetHttpContext());

    private static IRemoteModelCatalog? RemoteCatalog(ServerCallContext context) => context.GetHttpContext().RequestServices.GetService<IRemoteModelCatalog>();

    // The RPC decides whether the answer streams; a unary call that asks for a stream is told which RPC streams.
    private static void NotStreamed(bool stream, string streamingRpc)
    {
        if (stream) throw new InvalidInputException($"'stream' is true, but this RPC answers whole; call {streamingRpc} for a streamed answer.");
    }

    // Where seed 001's REST API shows the deployment's progress, when the host maps it (with its prefix and path base).
    private static string? ProgressUrl(ServerCallContext context, string deploymentId)
    {
        var http = context.GetHttpContext();
        if (http.RequestServices.GetService<EndpointDataSource>() is not { } endpoints) return null;
        foreach (var endpoint in endpoints.Endpoints)
        {
            if (endpoint is RouteEndpoint route && endpoint.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName == "Seed001_DeploymentStatus")
            {
                var template = route.RoutePattern.RawText ?? string.Empty;
                return http.Request.PathBase + "/" + template.TrimStart('/').Replace("{deployment_id}", Uri.EscapeDataString(deploymentId), StringComparison.Ordinal);
            }
        }

        return null;
    }
}
