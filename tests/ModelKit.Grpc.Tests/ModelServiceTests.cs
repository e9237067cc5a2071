using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Grpc.Model;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// Seed 001's <c>model.ModelService</c> through a real gRPC channel (stubs compiled from the shipped model.proto) against
/// the sample server on Kestrel; every answer compared with seed 001's REST answer for the same request, from the same
/// server over the same h2c address.
/// </summary>
public sealed class ModelServiceTests(ModelServiceServer server) : IClassFixture<ModelServiceServer>, IAsyncLifetime
{
    private const string Mlp = "demo-mlp";
    private const string Bert = "demo-bert";
    private const string Chat = ModelServiceServer.ChatModel;

    private readonly ModelService.ModelServiceClient _client = new(server.Invoker());
    private readonly HttpClient _rest = RestClient(server);

    public async Task InitializeAsync()
    {
        foreach (var model in new[] { Mlp, Bert, Chat, ModelServiceServer.Encoder }) await server.WaitUntilRunningAsync(model);
    }

    public Task DisposeAsync()
    {
        _rest.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task ListModelsAndGetModel_AnswerWhatRestAnswers()
    {
        var listed = await _client.ListModelsAsync(new ListModelsRequest());
        var rest = (await RestAsync(HttpMethod.Get, "/models")).GetProperty("models");
        Assert.Equal(rest.GetArrayLength(), listed.Models.Count);
        Assert.Contains(listed.Models, m => m.Id == Chat);
        for (var i = 0; i < listed.Models.Count; i++)
        {
            var model = listed.Models[i];
            var json = rest[i];
            AssertListed(json, model.Id, model.Name, model.HasDescription ? model.Description : null, model.HasVersion ? model.Version : null,
                model.Capabilities, model.Provider, model.Status, model.HasModelType ? model.ModelType : null, model.HasFramework ? model.Framework : null);
            AssertDeployment(json, model.Deployment);
        }

        // Inference first, so that the stats have something to say.
        await _client.CreateCompletionAsync(new CompletionRequest { ModelId = Chat, Prompt = "Four score", MaxTokens = 2 });
        var detail = await _client.GetModelAsync(new GetModelRequest { ModelId = Chat });
        var data = await RestAsync(HttpMethod.Get, "/models/" + Chat);
        AssertListed(data, detail.Id, detail.Name, detail.Description, detail.Version, detail.Capabilities, detail.Provider, detail.Status, detail.ModelType, detail.Framework);
        AssertDeployment(data, detail.Deployment);
        Assert.Equal(["completion", "chat", "inference"], detail.Capabilities);
        Assert.False(detail.Deployment.HasQuantization); // not known: absent, as REST leaves it out
        var stats = data.GetProperty("stats");
        Assert.Equal(stats.GetProperty("succeeded_requests").GetInt64(), detail.Stats.SucceededRequests);
        Assert.Equal(stats.GetProperty("failed_requests").GetInt64(), detail.Stats.FailedRequests);
        Assert.Equal(Optional(stats, "availability")?.GetDouble(), detail.Stats.HasAvailability ? detail.Stats.Availability : null);
        Assert.Equal(Optional(stats, "average_latency_ms")?.GetDouble(), detail.Stats.HasAverageLatencyMs ? detail.Stats.AverageLatencyMs : null);
        Assert.Null(detail.Parameters);
        Assert.Null(Optional(data, "parameters"));
        Assert.Equal(Strings(data.GetProperty("tags")), detail.Tags);
        Assert.Equal(Strings(data.GetProperty("versions")), detail.Versions);
        Assert.Equal(data.GetProperty("created_at").GetDateTimeOffset(), detail.CreatedAt.ToDateTimeOffset());
        Assert.Equal(data.GetProperty("updated_at").GetDateTimeOffset(), detail.UpdatedAt.ToDateTimeOffset());
    }

    [Fact]
    public async Task CreateChatCompletion_Greedy_AnswersWhatRestAnswers()
    {
        var request = ChatRequest(maxTokens: 12);
        var answer = await _client.CreateChatCompletionAsync(request);
        var rest = await RestAsync(HttpMethod.Post, $"/models/{Chat}/chat/completions",
            """{"messages": [{"role": "system", "content": "You recite."}, {"role": "user", "content": "Recite it."}], "max_tokens": 12, "temperature": 0}""");

        Assert.StartsWith("chatcmpl-", answer.Id, StringComparison.Ordinal);
        Assert.Equal((rest.GetProperty("object").GetString(), rest.GetProperty("model").GetString()), (answer.Object, answer.Model));
        Assert.Equal(rest.GetProperty("model_version").GetString(), answer.ModelVersion);
        var choice = Assert.Single(answer.Choices);
        var restChoice = rest.GetProperty("choices")[0];
        Assert.Equal(("assistant", restChoice.GetProperty("message").GetProperty("content").GetString()), (choice.Message.Role, choice.Message.Content));
        Assert.False(string.IsNullOrEmpty(choice.Message.Content));
        Assert.Equal(restChoice.GetProperty("finish_reason").GetString(), choice.FinishReason);
        Assert.Null(choice.Logprobs);
        AssertUsage(rest.GetProperty("usage"), answer.Usage);
        Assert.Equal(12, answer.Usage.CompletionTokens);
    }

    [Fact]
    public async Task CreateCompletion_Greedy_AnswersWhatRestAnswers_WithLogprobs()
    {
        var answer = await _client.CreateCompletionAsync(new CompletionRequest { ModelId = Chat, Prompt = "Four score and", MaxTokens = 8, Logprobs = 2 });
        var rest = await RestAsync(HttpMethod.Post, $"/models/{Chat}/completions", """{"prompt": "Four score and", "max_tokens": 8, "temperature": 0, "logprobs": 2}""");

        Assert.Equal(("text_completion", Chat), (answer.Object, answer.Model));
        var choice = Assert.Single(answer.Choices);
        var restChoice = rest.GetProperty("choices")[0];
        Assert.Equal(restChoice.GetProperty("text").GetString(), choice.Text);
        Assert.Equal(restChoice.GetProperty("finish_reason").GetString(), choice.FinishReason);
        AssertUsage(rest.GetProperty("usage"), answer.Usage);
        var logprobs = restChoice.GetProperty("logprobs");
        Assert.Equal(Strings(logprobs.GetProperty("tokens")), choice.Logprobs.Tokens);
        Assert.Equal(logprobs.GetProperty("token_logprobs").EnumerateArray().Select(v => v.GetSingle()), choice.Logprobs.TokenLogprobs);
        Assert.Equal(logprobs.GetProperty("text_offset").EnumerateArray().Select(v => v.GetInt32()), choice.Logprobs.TextOffset);
        Assert.All(choice.Logprobs.TopLogprobs, top => Assert.Equal(2, top.Logprobs.Count));

        // A prompt given as token ids.
        var ids = await _client.CreateCompletionAsync(new CompletionRequest { ModelId = Chat, PromptTokenIds = { 464, 2068, 7586 }, MaxTokens = 3 });
        Assert.Equal((3, 3), (ids.Usage.PromptTokens, ids.Usage.CompletionTokens));
        Assert.False(string.IsNullOrEmpty(Assert.Single(ids.Choices).Text));
    }

    [Fact]
    public async Task CreateChatCompletionStream_ArrivesInChunks_ThatAddUpToTheWholeAnswer()
    {
        var whole = await _client.CreateChatCompletionAsync(ChatRequest(maxTokens: 16));
        using var call = _client.CreateChatCompletionStream(ChatRequest(maxTokens: 16, stream: true));
        var chunks = new List<ChatCompletionChunk>();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync()) chunks.Add(chunk);

        Assert.True(chunks.Count > 4, $"expected a chunk per token, got {chunks.Count}");
        Assert.All(chunks, c => Assert.Equal(("chat.completion.chunk", Chat, chunks[0].Id), (c.Object, c.Model, c.Id)));
        Assert.All(chunks, c => Assert.NotNull(Assert.Single(c.Choices).Delta)); // Choices[0].Delta.Content is always there (the seed's Go loop)
        Assert.Equal("assistant", chunks[0].Choices[0].Delta.Role);
        Assert.All(chunks.Skip(1), c => Assert.Equal(string.Empty, c.Choices[0].Delta.Role));
        Assert.Equal(whole.Choices[0].Message.Content, string.Concat(chunks.Select(c => c.Choices[0].Delta.Content)));

        var last = chunks[^1];
        Assert.Equal(whole.Choices[0].FinishReason, last.Choices[0].FinishReason);
        Assert.All(chunks.SkipLast(1), c => Assert.False(c.Choices[0].HasFinishReason));
        Assert.Equal(whole.Usage, last.Usage);
        Assert.All(chunks.SkipLast(1), c => Assert.Null(c.Usage));
    }

    [Fact]
    public async Task CreateCompletionStream_ArrivesInChunks_ThatAddUpToTheWholeAnswer()
    {
        var request = new CompletionRequest { ModelId = Chat, Prompt = "Four score and", MaxTokens = 10 };
        var whole = await _client.CreateCompletionAsync(request);
        using var call = _client.CreateCompletionStream(request);
        var chunks = new List<CompletionChunk>();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync()) chunks.Add(chunk);

        Assert.True(chunks.Count > 4, $"expected a chunk per token, got {chunks.Count}");
        Assert.All(chunks, c => Assert.Equal("text_completion", c.Object));
        Assert.Equal(whole.Choices[0].Text, string.Concat(chunks.Select(c => Assert.Single(c.Choices).Text)));
        Assert.Equal("length", chunks[^1].Choices[0].FinishReason);
        Assert.Equal(whole.Usage, chunks[^1].Usage);
        Assert.All(chunks.SkipLast(1), c => Assert.Null(c.Usage));
    }

    [Fact]
    public async Task CreateChatCompletionStream_Cancelled_StopsTheGeneration()
    {
        // The server's generation, seen through its own meter; the streamed call is watched once the whole answer's
        // sequence (and any earlier test's) has been counted out.
        using var meter = new GenerationMeter(server.Services.GetRequiredService<IMeterFactory>());
        var full = await _client.CreateChatCompletionAsync(ChatRequest(maxTokens: 400));
        var fullTokens = full.Usage.CompletionTokens;
        Assert.True(fullTokens > 100, $"the recitation should be long; it was {fullTokens} tokens");
        await meter.SettleAsync(TimeSpan.FromMilliseconds(200));
        meter.Watch();

        using var cancel = new CancellationTokenSource();
        using var call = _client.CreateChatCompletionStream(ChatRequest(maxTokens: 400, stream: true), cancellationToken: cancel.Token);
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal("assistant", call.ResponseStream.Current.Choices[0].Delta.Role);
        await cancel.CancelAsync();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });
        Assert.Equal(StatusCode.Cancelled, error.StatusCode);
        await meter.Left.WaitAsync(TimeSpan.FromSeconds(30)); // the sequence left the batch …
        Assert.True(meter.Generated > 0, "the listener saw no generated token");
        Assert.True(meter.Generated < fullTokens, $"… before its end: {meter.Generated} of {fullTokens} tokens generated");
    }

    [Fact]
    public async Task CreateEmbeddings_AnswersWhatRestAnswers()
    {
        var answer = await _client.CreateEmbeddingsAsync(new EmbeddingsRequest { ModelId = ModelServiceServer.Encoder, Input = { "The first text.", "A second one." } });
        var rest = await RestAsync(HttpMethod.Post, $"/models/{ModelServiceServer.Encoder}/embeddings", """{"input": ["The first text.", "A second one."]}""");

        Assert.Equal(("list", rest.GetProperty("model").GetString()), (answer.Object, answer.Model));
        Assert.Equal(2, answer.Data.Count);
        for (var i = 0; i < 2; i++)
        {
            var json = rest.GetProperty("data")[i];
            Assert.Equal(("embedding", i), (answer.Data[i].Object, answer.Data[i].Index));
            Assert.Equal(384, answer.Data[i].Embedding_.Count);
            Assert.Equal(json.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()), answer.Data[i].Embedding_);
        }

        Assert.Equal(rest.GetProperty("usage").GetProperty("prompt_tokens").GetInt32(), answer.Usage.PromptTokens);
        Assert.Equal(rest.GetProperty("max_tokens").GetInt32(), answer.MaxTokens);
        Assert.Empty(answer.TruncatedInputs);

        // Token ids and a shorter vector: the first values, normalised again.
        var ids = await _client.CreateEmbeddingsAsync(new EmbeddingsRequest { ModelId = ModelServiceServer.Encoder, InputTokenIds = { new TokenIds { Ids = { 101, 7592, 102 } } }, Dimensions = 64 });
        Assert.Equal(64, Assert.Single(ids.Data).Embedding_.Count);
        Assert.Equal(1.0, Math.Sqrt(ids.Data[0].Embedding_.Sum(v => (double)v * v)), 4);
    }

    [Fact]
    public async Task LocalModels_DeployStatusUnload_RoundTrip_AsRestShowsThem()
    {
        var local = await _client.ListLocalModelsAsync(new ListLocalModelsRequest());
        var rest = (await RestAsync(HttpMethod.Get, "/models/local")).GetProperty("models");
        Assert.Equal(rest.GetArrayLength(), local.Models.Count);
        for (var i = 0; i < local.Models.Count; i++)
        {
            var model = local.Models[i];
            var json = rest[i];
            Assert.Equal((Str(json, "id"), Str(json, "name"), Str(json, "version"), Str(json, "status")), (model.Id, model.Name, model.Version, model.Status));
            var deployment = json.GetProperty("deployment");
            Assert.Equal(
                (Str(deployment, "deployment_id"), Str(deployment, "node_id"), Str(deployment, "hardware"), Str(deployment, "health"), Str(deployment, "device"), deployment.GetProperty("replicas").GetInt32()),
                (model.Deployment.DeploymentId, model.Deployment.NodeId, model.Deployment.Hardware, model.Deployment.Health, model.Deployment.Device, model.Deployment.Replicas));
            Assert.Equal(Optional(deployment, "memory_usage")?.GetString(), model.Deployment.HasMemoryUsage ? model.Deployment.MemoryUsage : null);
            Assert.Equal(Optional(deployment, "loaded_at")?.GetDateTimeOffset(), model.Deployment.LoadedAt?.ToDateTimeOffset());
            Assert.Equal(json.GetProperty("performance").GetProperty("max_batch_size").GetInt32(), model.Performance.MaxBatchSize);
            Assert.False(model.Performance.HasTokensPerSecond);
        }

        // Unload the demo encoder, then deploy it again: the answers, the progress, the notes.
        var unloaded = await _client.UnloadLocalModelAsync(new UnloadLocalModelRequest { ModelId = Bert });
        Assert.Equal((Bert, "unloaded", Environment.MachineName), (unloaded.ModelId, unloaded.Status, Assert.Single(unloaded.Nodes)));
        Assert.DoesNotContain((await _client.ListLocalModelsAsync(new ListLocalModelsRequest())).Models, m => m.Id == Bert);
        var again = await Assert.ThrowsAsync<RpcException>(() => _client.UnloadLocalModelAsync(new UnloadLocalModelRequest { ModelId = Bert }).ResponseAsync);
        Assert.Equal((StatusCode.NotFound, "DEPLOYMENT_NOT_FOUND"), (again.StatusCode, Reason(again)));

        var deployed = await _client.DeployLocalModelAsync(new DeployLocalModelRequest
        {
            ModelType = "demo",
            ModelSize = "bert",
            Quantization = "int8",
            DeploymentConfig = new DeploymentConfig { MaxBatchSize = 4, UseKvCache = true },
        });
        Assert.Equal(Bert, deployed.ModelId);
        Assert.Equal("/models/local/deployments/" + deployed.DeploymentId, deployed.ProgressUrl);
        Assert.False(deployed.HasEstimatedTime);
        Assert.Equal(2, deployed.Notes.Count);
        Assert.Contains(deployed.Notes, n => n.StartsWith("quantization 'int8' is not applied", StringComparison.Ordinal));

        await server.Services.GetRequiredService<IDeploymentManager>().WaitUntilRunningAsync(deployed.DeploymentId);
        var status = await _client.GetDeploymentStatusAsync(new GetDeploymentStatusRequest { DeploymentId = deployed.DeploymentId });
        var restStatus = await RestAsync(HttpMethod.Get, deployed.ProgressUrl);
        Assert.Equal(("completed", 100, Bert), (status.Status, status.Progress, status.ModelId));
        Assert.Equal(Str(restStatus, "status"), status.Status);
        Assert.Equal(restStatus.GetProperty("stages").EnumerateArray().Select(s => (Str(s, "name"), Str(s, "status"))), status.Stages.Select(s => (s.Name, s.Status)));
        Assert.All(status.Stages.Where(s => s.Status == "completed"), s => Assert.True(s.HasDuration && s.Duration.EndsWith('s')));
        Assert.NotEmpty(status.Logs);
        Assert.Equal(restStatus.GetProperty("logs").EnumerateArray().Select(l => Str(l, "message")).Take(status.Logs.Count), status.Logs.Select(l => l.Message));
        Assert.Null(status.EstimatedCompletion);
        Assert.False(status.HasFailureReason);

        var listed = Assert.Single((await _client.ListLocalModelsAsync(new ListLocalModelsRequest())).Models, m => m.Id == Bert);
        Assert.Equal((deployed.DeploymentId, 4, "active"), (listed.Deployment.DeploymentId, listed.Performance.MaxBatchSize, listed.Status));
    }

    [Fact]
    public async Task BadRequests_AreTheStatusesTheInterceptorGives()
    {
        var unknown = await FailsAsync(() => _client.GetModelAsync(new GetModelRequest { ModelId = "no-such-model" }).ResponseAsync, StatusCode.NotFound);
        Assert.Equal("MODEL_NOT_FOUND", Reason(unknown));
        await FailsAsync(() => _client.CreateChatCompletionAsync(ChatRequest(12).Also(r => r.ModelId = "no-such-model")).ResponseAsync, StatusCode.NotFound);
        await FailsAsync(() => _client.GetDeploymentStatusAsync(new GetDeploymentStatusRequest { DeploymentId = "no-such-deployment" }).ResponseAsync, StatusCode.NotFound);

        var hot = await FailsAsync(() => _client.CreateChatCompletionAsync(ChatRequest(12).Also(r => r.Temperature = 3)).ResponseAsync, StatusCode.InvalidArgument);
        Assert.Contains("temperature must be between 0 and 2; got 3", hot.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("INVALID_INPUT", Reason(hot));

        var empty = await FailsAsync(() => _client.CreateChatCompletionAsync(new ChatCompletionRequest { ModelId = Chat, MaxTokens = 4 }).ResponseAsync, StatusCode.InvalidArgument);
        Assert.Contains("messages is empty", empty.Status.Detail, StringComparison.Ordinal);

        // A stream refuses a bad request before its first chunk.
        using (var stream = _client.CreateChatCompletionStream(ChatRequest(12).Also(r => r.Temperature = 3)))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => stream.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        }

        var noModel = await FailsAsync(() => _client.CreateCompletionAsync(new CompletionRequest { Prompt = "x" }).ResponseAsync, StatusCode.InvalidArgument);
        Assert.Contains("'model_id' is required", noModel.Status.Detail, StringComparison.Ordinal);
        var streamed = await FailsAsync(() => _client.CreateChatCompletionAsync(ChatRequest(4, stream: true)).ResponseAsync, StatusCode.InvalidArgument);
        Assert.Contains("CreateChatCompletionStream", streamed.Status.Detail, StringComparison.Ordinal);
        await FailsAsync(() => _client.CreateEmbeddingsAsync(new EmbeddingsRequest { ModelId = Chat, Input = { "x" } }).ResponseAsync, StatusCode.InvalidArgument);

        var reader = new ModelService.ModelServiceClient(server.Invoker(GrpcSampleServer.ReadOnlyKey));
        await FailsAsync(() => reader.CreateChatCompletionAsync(ChatRequest(4)).ResponseAsync, StatusCode.PermissionDenied);
        await FailsAsync(() => reader.UnloadLocalModelAsync(new UnloadLocalModelRequest { ModelId = Mlp }).ResponseAsync, StatusCode.PermissionDenied);
        Assert.NotEmpty((await reader.ListModelsAsync(new ListModelsRequest())).Models);
        var anonymous = new ModelService.ModelServiceClient(server.Invoker(key: null));
        await FailsAsync(() => anonymous.ListModelsAsync(new ListModelsRequest()).ResponseAsync, StatusCode.Unauthenticated);

        await FailsAsync(() => _client.CreateChatCompletionAsync(ChatRequest(4), deadline: DateTime.UtcNow.AddMilliseconds(-1)).ResponseAsync, StatusCode.DeadlineExceeded);
    }

    private static ChatCompletionRequest ChatRequest(int maxTokens, bool stream = false) => new()
    {
        // As the seed's Go client writes it: ModelId, Messages{Role, Content}, MaxTokens, Temperature (0: greedy), Stream.
        ModelId = Chat,
        Messages = { new Message { Role = "system", Content = "You recite." }, new Message { Role = "user", Content = "Recite it." } },
        MaxTokens = maxTokens,
        Temperature = 0,
        Stream = stream,
    };

    private static void AssertListed(
        JsonElement json, string id, string name, string? description, string? version, IEnumerable<string> capabilities, string provider, string status, string? modelType, string? framework)
    {
        Assert.Equal((Str(json, "id"), Str(json, "name"), Str(json, "provider"), Str(json, "status")), (id, name, provider, status));
        Assert.Equal(Optional(json, "description")?.GetString(), description);
        Assert.Equal(Optional(json, "version")?.GetString(), version);
        Assert.Equal(Optional(json, "model_type")?.GetString(), modelType);
        Assert.Equal(Optional(json, "framework")?.GetString(), framework);
        Assert.Equal(Strings(json.GetProperty("capabilities")), capabilities);
    }

    private static void AssertDeployment(JsonElement json, ModelDeployment? deployment)
    {
        if (Optional(json, "deployment") is not { } rest)
        {
            Assert.Null(deployment);
            return;
        }

        Assert.NotNull(deployment);
        Assert.Equal((Str(rest, "type"), Str(rest, "hardware"), Str(rest, "device")), (deployment.Type, deployment.Hardware, deployment.Device));
        Assert.Equal(Optional(rest, "deployment_id")?.GetString(), deployment.HasDeploymentId ? deployment.DeploymentId : null);
    }

    private static void AssertUsage(JsonElement json, Usage usage) =>
        Assert.Equal(
            (json.GetProperty("prompt_tokens").GetInt32(), json.GetProperty("completion_tokens").GetInt32(), json.GetProperty("total_tokens").GetInt32()),
            (usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens));

    // Seed 001's REST answer's data, from the same server over the same h2c address.
    private async Task<JsonElement> RestAsync(HttpMethod method, string path, string? json = null)
    {
        // SendAsync takes the message's own version (1.1 unless set), not the client's default: this endpoint is h2c only.
        using var request = new HttpRequestMessage(method, path) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await _rest.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {body}");
        using var document = JsonDocument.Parse(body);
        return document.RootElement.GetProperty("data").Clone();
    }

    private static HttpClient RestClient(GrpcSampleServer server)
    {
        var client = new HttpClient(new SocketsHttpHandler())
        {
            BaseAddress = server.Address,
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        client.DefaultRequestHeaders.Add("X-API-Key", GrpcSampleServer.AdminKey);
        client.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return client;
    }

    private static async Task<RpcException> FailsAsync<T>(Func<Task<T>> call, StatusCode expected)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(expected == error.StatusCode, $"expected {expected}, got {error.StatusCode}: {error.Status.Detail}");
        return error;
    }

    private static string? Reason(RpcException error) => error.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;

    private static JsonElement? Optional(JsonElement json, string name) =>
        json.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string Str(JsonElement json, string name) => json.GetProperty(name).GetString() ?? throw new Xunit.Sdk.XunitException($"'{name}' is null");

    private static List<string?> Strings(JsonElement array) => [.. array.EnumerateArray().Select(v => v.GetString())];
}
