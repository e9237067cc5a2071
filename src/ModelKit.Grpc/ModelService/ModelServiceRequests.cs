using ModelKit.AspNetCore;
using ModelKit.Deployments;
using ModelKit.Grpc.Model;
using ModelKit.Registry;
using ModelKit.Text;

namespace ModelKit.Grpc;

/// <summary>
/// <c>model.ModelService</c>'s requests as Core requests, with REST seed 001's shape checks (the Core services validate
/// the values: temperature's range, empty messages, the prompt). Wire-level defaults: a proto3 scalar cannot be absent,
/// so <c>max_tokens</c> 0 is "not set" and an empty <c>prompt</c> or <c>version</c> is none; fields declared
/// <c>optional</c> are passed on only when present.
/// </summary>
internal static class ModelServiceRequests
{
    private const string ModelIdHint = "the id of a registered model (ListModels lists them)";

    public static TextGenerationRequest ToRequest(ChatCompletionRequest request)
    {
        if (request.HasTopLogprobs && !request.Logprobs) throw new InvalidInputException("'top_logprobs' needs 'logprobs': true.");
        var messages = new List<TextChatMessage>(request.Messages.Count);
        foreach (var message in request.Messages) messages.Add(new TextChatMessage(message.Role, message.Content));
        return Sampling(request) with
        {
            Messages = messages,
            LogProbs = request.Logprobs,
            TopLogProbs = request.TopLogprobs,
        };
    }

    public static TextGenerationRequest ToRequest(CompletionRequest request)
    {
        if (request.HasLogprobs && request.Logprobs is < 0 or > 20)
        {
            throw new InvalidInputException($"'logprobs' must be between 0 and 20 (the alternatives returned per position); got {request.Logprobs}.");
        }

        return Sampling(request) with
        {
            Prompt = request.Prompt.Length > 0 ? request.Prompt : null,
            PromptTokenIds = request.PromptTokenIds.Count > 0 ? [.. request.PromptTokenIds] : null,
            LogProbs = request.HasLogprobs,
            TopLogProbs = request.Logprobs,
        };
    }

    // The model and the sampling fields, which both generation requests carry with the same names and numbers.
    private static TextGenerationRequest Sampling(IGenerationFields request) => new()
    {
        ModelId = ModelId(request.ModelId),
        Version = request.HasVersion ? request.Version : null,
        MaxTokens = MaxTokens(request.MaxTokens),
        Temperature = request.Temperature,
        TopP = request.HasTopP ? request.TopP : null,
        TopK = request.HasTopK ? request.TopK : null,
        N = request.HasN ? request.N : 1,
        Stop = request.Stop.Count > 0 ? [.. request.Stop] : null,
        PresencePenalty = request.PresencePenalty,
        FrequencyPenalty = request.FrequencyPenalty,
        Seed = request.HasSeed ? request.Seed : null,
        Priority = Parse.Priority(request.HasPriority ? request.Priority : null),
    };

    public static TextEmbeddingRequest ToRequest(EmbeddingsRequest request)
    {
        if (request.Input.Count > 0 && request.InputTokenIds.Count > 0)
        {
            throw new InvalidInputException("Set 'input' (texts) or 'input_token_ids' (tokenized inputs), not both.");
        }

        var embedding = new TextEmbeddingRequest
        {
            ModelId = ModelId(request.ModelId),
            Version = request.HasVersion ? request.Version : null,
            Dimensions = request.HasDimensions ? request.Dimensions : null,
            Truncate = !request.HasTruncate || request.Truncate,
            Priority = Parse.Priority(request.HasPriority ? request.Priority : null),
        };
        if (request.InputTokenIds.Count == 0) return embedding with { Texts = [.. request.Input] }; // none: the service names the empty input
        var lists = new List<IReadOnlyList<int>>(request.InputTokenIds.Count);
        foreach (var ids in request.InputTokenIds) lists.Add([.. ids.Ids]);
        return embedding with { TokenIds = lists };
    }

    /// <summary>The deployment asked for, checked as REST's <c>POST /models/local/deploy</c> checks it.</summary>
    public static DeploymentSpec ToSpec(DeployLocalModelRequest request)
    {
        var modelId = ModelNaming.FromTypeAndSize(request.ModelId, request.ModelType, request.ModelSize);
        var config = request.DeploymentConfig;
        if (config is { HasMaxBatchSize: true, MaxBatchSize: < 1 })
        {
            throw new InvalidInputException($"'deployment_config.max_batch_size' must be at least 1 (was {config.MaxBatchSize}).");
        }

        return new DeploymentSpec
        {
            ModelId = modelId,
            Version = request.HasVersion ? request.Version : null,
            Device = request.HasDevice ? request.Device : null,
            Batching = config is { HasMaxBatchSize: true } ? new BatchingConfig { MaxBatchSize = config.MaxBatchSize }.ToOptions() : null,
        };
    }

    /// <summary>The settings of a deploy request that ModelKit does not apply, each with the reason (REST's notes, in the same words).</summary>
    public static List<string> NotesOn(DeployLocalModelRequest request) => GatewayRules.DeployNotes(
        request.HasQuantization ? request.Quantization : null,
        request.TargetNodes.Count > 0,
        request.DeploymentConfig is { } c && (c.HasUseFlashAttention || c.HasUseKvCache || c.HasTensorParallelSize || c.HasCpuOffload));

    /// <summary>A required id, or INVALID_INPUT naming the field.</summary>
    public static string Required(string value, string field, string what) =>
        string.IsNullOrWhiteSpace(value) ? throw new InvalidInputException($"'{field}' is required: {what}.") : value;

    private static string ModelId(string value) => Required(value, "model_id", ModelIdHint);

    private static int? MaxTokens(int value) => value == 0 ? null : value;
}
