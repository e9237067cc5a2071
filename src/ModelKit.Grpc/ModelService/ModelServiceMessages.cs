using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using ModelKit.AspNetCore;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Grpc.Model;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Text;
using ChatChoice = ModelKit.Grpc.Model.ChatChoice;
using ChatLogProbs = ModelKit.Grpc.Model.ChatLogProbs;
using DeploymentStage = ModelKit.Grpc.Model.DeploymentStage;
using EmbeddingsUsage = ModelKit.Grpc.Model.EmbeddingsUsage;
using CoreTokenLogProb = ModelKit.Text.TokenLogProb;

namespace ModelKit.Grpc;

/// <summary>
/// Core's answers as <c>model.ModelService</c>'s messages, field for field as REST's seed 001 writes them (its words
/// come from <see cref="GatewayVocabulary"/>); a value REST leaves out is left unset here.
/// </summary>
internal static class ModelServiceMessages
{
    /// <summary>A registered model as the list shows it.</summary>
    public static Model.Model Listed(ModelInfo model, DeploymentInfo? active, InferenceOptions inference)
    {
        var listed = new Model.Model
        {
            Id = model.Id,
            Name = model.Name,
            Capabilities = { GatewayVocabulary.Capabilities(model.Task) },
            Provider = "local",
            Status = GatewayVocabulary.ModelStatus(model, active, inference.ServeUndeployedModels),
            Deployment = DeploymentOf(active, inference),
            Framework = model.Framework,
        };
        if (model.Description is { } description) listed.Description = description;
        if (model.DefaultVersion is { } version) listed.Version = version;
        if (model.Task is { } task) listed.ModelType = task;
        return listed;
    }

    /// <summary>A remote model as the list shows it: served by its provider, no deployment here.</summary>
    public static Model.Model Listed(RemoteModelInfo model)
    {
        var listed = new Model.Model { Id = model.Id, Name = model.Name, Capabilities = { "chat", "completion" }, Provider = model.Provider, Status = "active" };
        if (model.Description is { } description) listed.Description = description;
        if (model.Version is { } version) listed.Version = version;
        return listed;
    }

    /// <summary>A registered model with its queues' stats.</summary>
    public static GetModelResponse Detail(ModelInfo model, DeploymentInfo? active, BatchQueueStats stats, InferenceOptions inference)
    {
        var detail = DetailOf(Listed(model, active, inference));
        detail.Stats = Stats(GatewayVocabulary.LatencyMs(stats), GatewayVocabulary.Availability(stats), stats.Succeeded, stats.Failed + stats.TimedOut + stats.Rejected);
        detail.Tags.AddRange(model.Tags);
        foreach (var version in model.Versions) detail.Versions.Add(version.Version);
        detail.CreatedAt = Timestamp.FromDateTimeOffset(model.CreatedAt);
        detail.UpdatedAt = Timestamp.FromDateTimeOffset(model.UpdatedAt);
        return detail;
    }

    /// <summary>A remote model with its requests' stats.</summary>
    public static GetModelResponse Detail(RemoteModelInfo model, RemoteModelStats stats)
    {
        var detail = DetailOf(Listed(model));
        var finished = stats.Succeeded + stats.Failed + stats.TimedOut;
        detail.Stats = Stats(stats.AverageLatencyMs, finished == 0 ? null : Math.Round((double)stats.Succeeded / finished, 6), stats.Succeeded, stats.Failed + stats.TimedOut);
        if (model.ContextLength is { } context) detail.Parameters = new ModelParameters { MaxTokens = context };
        if (model.Version is { } version) detail.Versions.Add(version);
        detail.CreatedAt = Timestamp.FromDateTimeOffset(model.AddedAt);
        detail.UpdatedAt = detail.CreatedAt;
        return detail;
    }

    public static CompletionResponse Completion(TextGenerationResult result, long created)
    {
        var response = new CompletionResponse
        {
            Id = NewId("cmpl-"),
            Object = "text_completion",
            Created = created,
            Model = result.ModelId,
            Usage = Usage(result.Usage),
            ModelVersion = result.Version,
        };
        foreach (var choice in result.Choices)
        {
            var offset = 0;
            var text = new CompletionChoice { Text = choice.Text, Index = choice.Index, FinishReason = choice.FinishReason, Logprobs = CompletionLogProbs(choice.LogProbs, ref offset) };
            response.Choices.Add(text);
        }

        return response;
    }

    public static ChatCompletionResponse ChatCompletion(TextGenerationResult result, long created)
    {
        var response = new ChatCompletionResponse
        {
            Id = NewId("chatcmpl-"),
            Object = "chat.completion",
            Created = created,
            Model = result.ModelId,
            Usage = Usage(result.Usage),
            ModelVersion = result.Version,
        };
        foreach (var choice in result.Choices)
        {
            response.Choices.Add(new ChatChoice
            {
                Index = choice.Index,
                Message = new Message { Role = "assistant", Content = choice.Text },
                Logprobs = ChatLogProbs(choice.LogProbs),
                FinishReason = choice.FinishReason,
            });
        }

        return response;
    }

    public static EmbeddingsResponse Embeddings(TextEmbeddingResult result)
    {
        var response = new EmbeddingsResponse
        {
            Object = "list",
            Model = result.ModelId,
            Usage = new EmbeddingsUsage { PromptTokens = result.TotalTokens, TotalTokens = result.TotalTokens },
            ModelVersion = result.Version,
            MaxTokens = result.MaxTokens,
        };
        for (var i = 0; i < result.Embeddings.Count; i++)
        {
            response.Data.Add(new Embedding { Object = "embedding", Embedding_ = { result.Embeddings[i] }, Index = i });
            if (result.Truncated[i]) response.TruncatedInputs.Add(i);
        }

        return response;
    }

    /// <summary>A deployment as the local model list shows it.</summary>
    public static LocalModel Local(DeploymentInfo d, string name)
    {
        var deployment = new LocalDeployment
        {
            DeploymentId = d.DeploymentId,
            NodeId = Environment.MachineName,
            Hardware = GatewayVocabulary.Hardware(d.Device, SystemMonitor.CpuModelName),
            Health = d.State == DeploymentState.Running && d.ReadyReplicas > 0 ? "healthy" : "unhealthy",
            Device = d.Device,
            Replicas = d.ReadyReplicas,
        };
        if (d.MemoryUsedBytes is { } bytes)
        {
            deployment.MemoryUsage = GatewayVocabulary.Memory(bytes);
            deployment.MemoryBytes = bytes;
        }

        if (d.StartedAt is { } started) deployment.LoadedAt = Timestamp.FromDateTimeOffset(started);
        var performance = new Performance { MaxBatchSize = d.Batching.MaxBatchSize, AverageBatchSize = Math.Round(d.Queue?.AverageBatchSize ?? 0, 3) };
        if (GatewayVocabulary.LatencyMs(d.Queue) is { } latency) performance.AvgLatencyMs = latency;
        return new LocalModel
        {
            Id = d.ModelId,
            Name = name,
            Version = d.Version,
            Status = GatewayVocabulary.LocalModelStatus(d.State),
            Deployment = deployment,
            Performance = performance,
        };
    }

    public static DeployLocalModelResponse Deployed(DeploymentInfo info, string? progressUrl, IEnumerable<string> notes)
    {
        var response = new DeployLocalModelResponse
        {
            DeploymentId = info.DeploymentId,
            Status = GatewayVocabulary.DeploymentStatus(info.State),
            ModelId = info.ModelId,
            Version = info.Version,
            Device = info.Device,
            Notes = { notes },
        };
        if (progressUrl is not null) response.ProgressUrl = progressUrl;
        return response;
    }

    public static GetDeploymentStatusResponse Progress(DeploymentInfo info, IEnumerable<DeploymentLogEntry> logs)
    {
        var response = new GetDeploymentStatusResponse
        {
            DeploymentId = info.DeploymentId,
            ModelId = info.ModelId,
            Status = GatewayVocabulary.DeploymentStatus(info.State),
            Progress = info.Progress,
            Version = info.Version,
        };
        if (info.CurrentStage is { } current) response.CurrentStage = GatewayVocabulary.StageName(current);
        if (info.FailureReason is { } reason) response.FailureReason = reason;
        foreach (var s in info.Stages)
        {
            var stage = new DeploymentStage { Name = GatewayVocabulary.StageName(s.Name), Status = ModelKitJson.Name(s.Status) };
            if (s.Progress is { } percent) stage.Progress = percent;
            if (s.Duration is { } duration)
            {
                stage.Duration = GatewayVocabulary.Duration(duration);
                stage.DurationMs = duration.TotalMilliseconds;
            }

            if (s.Message is { } message) stage.Message = message;
            response.Stages.Add(stage);
        }

        foreach (var line in logs)
        {
            response.Logs.Add(new LogLine { Timestamp = Timestamp.FromDateTimeOffset(line.Timestamp), Level = GatewayVocabulary.Level(line.Level), Message = line.Message });
        }

        return response;
    }

    /// <summary>The token counts of a generation.</summary>
    public static Usage Usage(TextGenerationUsage usage) =>
        new() { PromptTokens = usage.PromptTokens, CompletionTokens = usage.CompletionTokens, TotalTokens = usage.TotalTokens };

    /// <summary>A chat choice's log-probabilities (null when none were asked for).</summary>
    public static ChatLogProbs? ChatLogProbs(IReadOnlyList<CoreTokenLogProb>? logprobs)
    {
        if (logprobs is null) return null;
        var chat = new ChatLogProbs();
        foreach (var token in logprobs)
        {
            var entry = new Model.TokenLogProb { Token = token.Token, Logprob = token.LogProb, Bytes = ByteString.CopyFrom(token.Bytes) };
            foreach (var alternative in token.TopLogProbs ?? [])
            {
                entry.TopLogprobs.Add(new TopLogProb { Token = alternative.Token, Logprob = alternative.LogProb, Bytes = ByteString.CopyFrom(alternative.Bytes) });
            }

            chat.Content.Add(entry);
        }

        return chat;
    }

    /// <summary>
    /// The legacy completions' log-probabilities (null when none were asked for): parallel lists, the alternatives as
    /// token text → log-probability (the first of equal texts kept), and each token's character offset, counted on from
    /// <paramref name="offset"/>, which is advanced.
    /// </summary>
    public static CompletionLogProbs? CompletionLogProbs(IReadOnlyList<CoreTokenLogProb>? logprobs, ref int offset)
    {
        if (logprobs is null) return null;
        var completion = new CompletionLogProbs();
        foreach (var token in logprobs)
        {
            completion.Tokens.Add(token.Token);
            completion.TokenLogprobs.Add(token.LogProb);
            var alternatives = new TopLogProbs();
            foreach (var alternative in token.TopLogProbs ?? []) alternatives.Logprobs.TryAdd(alternative.Token, alternative.LogProb);
            completion.TopLogprobs.Add(alternatives);
            completion.TextOffset.Add(offset);
            offset += token.Token.Length;
        }

        return completion;
    }

    /// <summary>A completion's id, as REST makes them (<c>cmpl-…</c>, <c>chatcmpl-…</c>).</summary>
    public static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N");

    // The list's fields, copied into the detail (GetModelResponse repeats Model's fields 1–10 rather than nesting it,
    // as REST's detail is the listed model with fields added).
    private static GetModelResponse DetailOf(Model.Model listed)
    {
        var detail = new GetModelResponse
        {
            Id = listed.Id,
            Name = listed.Name,
            Capabilities = { listed.Capabilities },
            Provider = listed.Provider,
            Status = listed.Status,
            Deployment = listed.Deployment,
        };
        if (listed.HasDescription) detail.Description = listed.Description;
        if (listed.HasVersion) detail.Version = listed.Version;
        if (listed.HasModelType) detail.ModelType = listed.ModelType;
        if (listed.HasFramework) detail.Framework = listed.Framework;
        return detail;
    }

    private static ModelStats Stats(double? latencyMs, double? availability, long succeeded, long failed)
    {
        var stats = new ModelStats { SucceededRequests = succeeded, FailedRequests = failed };
        if (latencyMs is { } latency) stats.AverageLatencyMs = latency;
        if (availability is { } share) stats.Availability = share;
        return stats;
    }

    // Where a local model is served: its active deployment's device, else the on-demand default device.
    private static ModelDeployment DeploymentOf(DeploymentInfo? active, InferenceOptions inference)
    {
        var device = active?.Device ?? inference.DefaultDevice;
        var deployment = new ModelDeployment { Type = "local", Hardware = GatewayVocabulary.Hardware(device, SystemMonitor.CpuModelName), Device = device };
        if (active?.DeploymentId is { } id) deployment.DeploymentId = id;
        return deployment;
    }
}
