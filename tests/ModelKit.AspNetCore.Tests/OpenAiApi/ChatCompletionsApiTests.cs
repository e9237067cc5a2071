using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Registry;
using OpenAI;
using OpenAI.Chat;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.OpenAiApi;

/// <summary>
/// OpenAI's <c>POST /v1/chat/completions</c> on the real text generation service and a generated GPT-2-style decoder,
/// through raw HTTP and the official OpenAI .NET client, whole and streamed.
/// </summary>
[Collection(DecoderServerCollection.Name)]
public sealed class ChatCompletionsApiTests(DecoderSampleServer server)
{
    private const string Model = DecoderSampleServer.Model;
    private const string Messages = """[{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Tell me about the sea."}]""";

    private readonly HttpClient _client = server.Factory.CreateClient();

    [Fact]
    public async Task ChatCompletion_Greedy_IsOpenAisObject_AndRepeatable()
    {
        var body = $$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 8, "temperature": 0, "user": "someone", "unknown_field": {"x": 1} }""";
        var json = await ExpectAsync(await _client.PostAsync("/v1/chat/completions", Json(body)), HttpStatusCode.OK);
        Assert.StartsWith("chatcmpl-", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("chat.completion", json.GetProperty("object").GetString());
        Assert.InRange(json.GetProperty("created").GetInt64(), DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds());
        Assert.Equal(Model, json.GetProperty("model").GetString());
        var choice = Assert.Single(json.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind); // written as null, as OpenAI does
        var reason = choice.GetProperty("finish_reason").GetString();
        Assert.Contains(reason, new[] { "stop", "length" });
        var usage = Usage(json);
        Assert.True(usage.Prompt > 0);
        Assert.InRange(usage.Completion, 1, 8);
        if (reason == "length") Assert.Equal(8, usage.Completion);
        Assert.Equal(usage.Prompt + usage.Completion, usage.Total);

        // Greedy decoding gives the same text again; max_completion_tokens (OpenAI's newer name) wins over max_tokens.
        var again = await ExpectAsync(await _client.PostAsync("/v1/chat/completions", Json(body)), HttpStatusCode.OK);
        Assert.Equal(Content(json), Content(again));
        var shorter = await ExpectAsync(await _client.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 8, "max_completion_tokens": 3, "temperature": 0}""")), HttpStatusCode.OK);
        Assert.InRange(Usage(shorter).Completion, 1, 3);
        Assert.StartsWith(Content(shorter), Content(json), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletion_Stream_SendsChunksThatAddUpToTheWholeAnswer_ThenUsage_ThenDone()
    {
        var whole = await ExpectAsync(await _client.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 12, "temperature": 0}""")), HttpStatusCode.OK);

        using var response = await Sse.PostAsync(_client, "/v1/chat/completions",
            $$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 12, "temperature": 0, "stream": true, "stream_options": {"include_usage": true} }""");
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        Assert.True(events.Count >= 3, $"expected role, content, finish and usage chunks: {events.Count}");
        var id = events[0].GetProperty("id").GetString();
        Assert.StartsWith("chatcmpl-", id, StringComparison.Ordinal);
        Assert.All(events, e => Assert.Equal(id, e.GetProperty("id").GetString()));
        Assert.All(events, e => Assert.Equal(Model, e.GetProperty("model").GetString()));

        // Every chunk but the last has "usage": null; the last has no choices and the usage of the whole answer.
        var last = events[^1];
        Assert.Equal(0, last.GetProperty("choices").GetArrayLength());
        Assert.Equal(Usage(whole), Usage(last));
        Assert.All(events.SkipLast(1), e => Assert.Equal(JsonValueKind.Null, e.GetProperty("usage").ValueKind));

        var (text, reasons) = Sse.ChatText(events.SkipLast(1));
        Assert.Equal(Content(whole), Assert.Single(text).Value);
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), Assert.Single(reasons).Value);
        // The finish reason comes on its own chunk with an empty delta.
        var finish = events[^2].GetProperty("choices")[0];
        Assert.Empty(finish.GetProperty("delta").EnumerateObject());

        // Without include_usage there is no usage chunk.
        using var plain = await Sse.PostAsync(_client, "/v1/chat/completions",
            $$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 12, "temperature": 0, "stream": true}""");
        var (plainEvents, plainDone) = await Sse.ReadAllAsync(plain);
        Assert.True(plainDone);
        Assert.All(plainEvents, e => Assert.NotEqual(0, e.GetProperty("choices").GetArrayLength()));
        Assert.Equal(Content(whole), Sse.ChatText(plainEvents).Text[0]);
    }

    [Fact]
    public async Task OfficialOpenAiClient_CompletesAndStreamsChat()
    {
        var client = new ChatClient(Model, new ApiKeyCredential(SampleServerFactory.AdminKey), new OpenAIClientOptions { Endpoint = new Uri(_client.BaseAddress!, "/v1") });
        List<OpenAI.Chat.ChatMessage> messages = [new SystemChatMessage("You are terse."), new UserChatMessage("Tell me about the sea.")];
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 10, Temperature = 0 };

        ChatCompletion completion = await client.CompleteChatAsync(messages, options);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(Model, completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Contains(completion.FinishReason, new[] { ChatFinishReason.Stop, ChatFinishReason.Length });
        var text = completion.Content.Count == 0 ? string.Empty : completion.Content[0].Text;

        var streamed = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var roles = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
            if (update.Role is not null) roles++;
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(text, streamed.ToString());
        Assert.Equal(1, roles);
        Assert.Equal(completion.FinishReason, finish);
        Assert.NotNull(usage); // the client asks for include_usage
        Assert.Equal(completion.Usage.TotalTokenCount, usage.TotalTokenCount);
        Assert.Equal(completion.Usage.OutputTokenCount, usage.OutputTokenCount);

        // Log-probabilities reach the client; errors reach it as its exception with OpenAI's status.
        ChatCompletion withLogprobs = await client.CompleteChatAsync(messages, new ChatCompletionOptions
        {
            MaxOutputTokenCount = 4, Temperature = 0, IncludeLogProbabilities = true, TopLogProbabilityCount = 2,
        });
        Assert.Equal(withLogprobs.Usage.OutputTokenCount, withLogprobs.ContentTokenLogProbabilities.Count);
        Assert.All(withLogprobs.ContentTokenLogProbabilities, t => Assert.Equal(2, t.TopLogProbabilities.Count));
        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync(messages, new ChatCompletionOptions { Temperature = 3 }));
        Assert.Equal(400, error.Status);
        var missing = new ChatClient("no-such-model", new ApiKeyCredential(SampleServerFactory.AdminKey), new OpenAIClientOptions { Endpoint = new Uri(_client.BaseAddress!, "/v1") });
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => missing.CompleteChatAsync(messages))).Status);
    }

    [Fact]
    public async Task ChatCompletion_N2_Seeded_GivesTwoChoices_TheSameWholeAndStreamed()
    {
        var body = $$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 6, "temperature": 1.0, "top_p": 0.95, "top_k": 50, "seed": 42, "n": 2, "logprobs": true}""";
        var whole = await ExpectAsync(await _client.PostAsync("/v1/chat/completions", Json(body)), HttpStatusCode.OK);
        var choices = whole.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal([0, 1], choices.Select(c => c.GetProperty("index").GetInt32()));
        // completion_tokens counts both choices' tokens (one log-probability per token); the prompt is counted once.
        Assert.Equal(Usage(whole).Completion, choices.Sum(c => c.GetProperty("logprobs").GetProperty("content").GetArrayLength()));

        var again = await ExpectAsync(await _client.PostAsync("/v1/chat/completions", Json(body)), HttpStatusCode.OK);
        Assert.Equal(choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()),
            again.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("message").GetProperty("content").GetString()));

        using var response = await Sse.PostAsync(_client, "/v1/chat/completions", body.Replace("\"n\": 2", "\"n\": 2, \"stream\": true", StringComparison.Ordinal));
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        var (text, reasons) = Sse.ChatText(events);
        Assert.Equal(2, reasons.Count);
        foreach (var c in choices)
        {
            var index = c.GetProperty("index").GetInt32();
            Assert.Equal(c.GetProperty("message").GetProperty("content").GetString(), text[index]);
            Assert.Equal(c.GetProperty("finish_reason").GetString(), reasons[index]);
        }
    }

    [Fact]
    public async Task ChatCompletion_Stop_EndsTheChoiceBeforeTheStopText()
    {
        // A seeded sample (the random decoder's greedy text repeats one token): the same sampler draws, cut at the stop text.
        const string Sampling = "\"max_tokens\": 16, \"temperature\": 1, \"top_k\": 40, \"seed\": 5";
        var full = Content(await ExpectAsync(await _client.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Model}}", "messages": {{Messages}}, {{Sampling}}}""")), HttpStatusCode.OK));
        Assert.True(full.Length >= 6, $"the completion is too short to cut: '{full}'");
        var stop = full.Substring(full.Length / 2, 2);
        var expected = full[..full.IndexOf(stop, StringComparison.Ordinal)];

        foreach (var stopJson in new[] { JsonSerializer.Serialize(stop), JsonSerializer.Serialize(new[] { "never-generated-text", stop }) })
        {
            var json = await ExpectAsync(await _client.PostAsync("/v1/chat/completions",
                Json($$"""{"model": "{{Model}}", "messages": {{Messages}}, {{Sampling}}, "stop": {{stopJson}}}""")), HttpStatusCode.OK);
            Assert.Equal(expected, Content(json));
            Assert.Equal("stop", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        }

        using var response = await Sse.PostAsync(_client, "/v1/chat/completions",
            $$"""{"model": "{{Model}}", "messages": {{Messages}}, {{Sampling}}, "stop": {{JsonSerializer.Serialize(stop)}}, "stream": true}""");
        var (text, reasons) = Sse.ChatText((await Sse.ReadAllAsync(response)).Events);
        Assert.Equal((expected, "stop"), (text[0], reasons[0]));
    }

    [Fact]
    public async Task ChatCompletion_Logprobs_GiveEachTokenWithItsBytesAndAlternatives()
    {
        var json = await ExpectAsync(await _client.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 6, "temperature": 0, "logprobs": true, "top_logprobs": 3}""")), HttpStatusCode.OK);
        var choice = json.GetProperty("choices")[0];
        var content = choice.GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
        Assert.Equal(Usage(json).Completion, content.Length);
        var bytes = new List<byte>();
        foreach (var token in content)
        {
            var logprob = token.GetProperty("logprob").GetSingle();
            Assert.True(logprob <= 0, $"a log-probability is at most 0: {logprob}");
            var tokenBytes = token.GetProperty("bytes").EnumerateArray().Select(b => checked((byte)b.GetInt32())).ToArray();
            bytes.AddRange(tokenBytes);
            var top = token.GetProperty("top_logprobs").EnumerateArray().ToArray();
            Assert.Equal(3, top.Length);
            Assert.True(top[0].GetProperty("logprob").GetSingle() >= top[1].GetProperty("logprob").GetSingle());
            // Greedy decoding picks the likeliest token: the first alternative is the token itself.
            Assert.Equal(token.GetProperty("token").GetString(), top[0].GetProperty("token").GetString());
            Assert.Equal(logprob, top[0].GetProperty("logprob").GetSingle(), 1e-4f);
        }

        // The tokens' bytes spell the content (the choice ended by length or the end-of-sequence token, neither of which is text).
        Assert.Equal(Content(json), Encoding.UTF8.GetString([.. bytes]));

        using var response = await Sse.PostAsync(_client, "/v1/chat/completions",
            $$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 6, "temperature": 0, "logprobs": true, "top_logprobs": 3, "stream": true}""");
        var streamed = (await Sse.ReadAllAsync(response)).Events
            .SelectMany(e => e.GetProperty("choices").EnumerateArray())
            .Where(c => c.GetProperty("logprobs").ValueKind == JsonValueKind.Object)
            .SelectMany(c => c.GetProperty("logprobs").GetProperty("content").EnumerateArray())
            .Select(t => t.GetProperty("token").GetString());
        Assert.Equal(content.Select(t => t.GetProperty("token").GetString()), streamed);
    }

    [Fact]
    public async Task ChatCompletion_RecitingDecoder_AnswersTheText_WholeStreamedAndThroughTheOfficialClient()
    {
        // The chat template ends with the assistant's turn opened on a new line: the decoder goes on with the passage
        // that follows a line break in the text, word for word.
        const string Address = ModelKit.ModelGenerator.DecoderModels.GettysburgAddress;
        var body = $$"""{"model": "{{DecoderSampleServer.RecitingModel}}", "messages": [{"role": "user", "content": "Recite it."}], "max_tokens": 10, "temperature": 0}""";
        var json = await ExpectAsync(await _client.PostAsync("/v1/chat/completions", Json(body)), HttpStatusCode.OK);
        var content = Content(json);
        Assert.True(content.Length > 20, content);
        Assert.Contains(content, Address, StringComparison.Ordinal);

        using var response = await Sse.PostAsync(_client, "/v1/chat/completions", body[..^1] + ", \"stream\": true}");
        Assert.Equal(content, Sse.ChatText((await Sse.ReadAllAsync(response)).Events).Text[0]);

        var client = new ChatClient(DecoderSampleServer.RecitingModel, new ApiKeyCredential(SampleServerFactory.AdminKey), new OpenAIClientOptions { Endpoint = new Uri(_client.BaseAddress!, "/v1") });
        var streamed = new StringBuilder();
        await foreach (var update in client.CompleteChatStreamingAsync([new UserChatMessage("Recite it.")], new ChatCompletionOptions { MaxOutputTokenCount = 10, Temperature = 0 }))
        {
            foreach (var part in update.ContentUpdate) streamed.Append(part.Text);
        }

        Assert.Equal(content, streamed.ToString());
    }

    [Theory]
    [InlineData("""{"model": "surfaces-gpt2", "messages": []}""", "invalid_input", "'messages' is empty", "messages")]
    [InlineData("""{"model": "surfaces-gpt2"}""", "invalid_input", "'messages' is required", "messages")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user"}]}""", "invalid_input", "'messages[0].content' is required", "messages")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "wizard", "content": "hi"}]}""", "invalid_input", "wizard", "messages")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "temperature": 3}""", "invalid_input", "temperature must be between 0 and 2", "temperature")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "top_p": 1.5}""", "invalid_input", "1.5", "top_p")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}""", "invalid_input", "max_tokens must be 1 or more", "max_tokens")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000000}""", "invalid_input", "context", "max_tokens")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "n": 100000}""", "invalid_input", "100000", "n")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}""", "invalid_input", "wrong JSON type", "temperature")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "stop": 5}""", "invalid_input", "'stop' is a JSON number", "stop")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "tools": [{"type": "function", "function": {"name": "f"}}]}""", "invalid_input", "'tools' is not supported", "tools")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "response_format": {"type": "json_object"}}""", "invalid_input", "'response_format' is not supported", "response_format")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}""", "invalid_input", "not supported", "messages")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "stream_options": {"include_usage": true} }""", "invalid_input", "only allowed with 'stream': true", "stream_options")]
    [InlineData("""{"model": "surfaces-gpt2", "messages": [{"role": "user", "content": "hi"}], "top_logprobs": 2}""", "invalid_input", "needs 'logprobs': true", "top_logprobs")]
    [InlineData("""{"messages": [{"role": "user", "content": "hi"}]}""", "invalid_input", "'model' is required", "model")]
    [InlineData("""{"model": "demo-mlp", "messages": [{"role": "user", "content": "hi"}]}""", "unsupported_task", "demo-mlp", null)]
    public async Task ChatCompletion_BadInput_Is400InOpenAiErrorShape(string body, string code, string message, string? param)
    {
        foreach (var stream in new[] { false, true })
        {
            var sent = stream ? body[..^1] + ", \"stream\": true}" : body;
            if (stream && body.Contains("stream_options", StringComparison.Ordinal)) continue;
            var json = await ExpectAsync(await _client.PostAsync("/v1/chat/completions", Json(sent)), HttpStatusCode.BadRequest, code);
            var error = json.GetProperty("error");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            if (param is not null) Assert.Equal(param, error.GetProperty("param").GetString());
        }
    }

    [Fact]
    public async Task ChatCompletion_UnknownModel_Is404InOpenAiShape()
    {
        var json = await ExpectAsync(await _client.PostAsync("/v1/chat/completions", Json("""{"model": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}""")),
            HttpStatusCode.NotFound, "model_not_found");
        Assert.Equal("not_found_error", json.GetProperty("error").GetProperty("type").GetString());
    }

    [Fact]
    public async Task ChatCompletion_ClientLeavesMidStream_TheServerCarriesOn()
    {
        // A client that closes its connection at once when it stops reading (no draining of the rest of the answer).
        using (var leaving = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0, PooledConnectionLifetime = TimeSpan.Zero }) { BaseAddress = _client.BaseAddress })
        {
            leaving.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
            using var response = await Sse.PostAsync(leaving, "/v1/chat/completions",
                $$"""{"model": "{{Model}}", "messages": {{Messages}}, "temperature": 0, "stream": true}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            var first = await reader.ReadLineAsync();
            Assert.StartsWith("data: {", first, StringComparison.Ordinal);
        } // the connection is dropped here, with the generation (up to the whole context) under way

        // The server answers the next requests as before.
        for (var i = 0; i < 2; i++)
        {
            var json = await ExpectAsync(await _client.PostAsync("/v1/chat/completions",
                Json($$"""{"model": "{{Model}}", "messages": {{Messages}}, "max_tokens": 4, "temperature": 0}""")), HttpStatusCode.OK);
            Assert.InRange(Usage(json).Completion, 1, 4);
        }
    }

    internal static string Content(JsonElement completion) =>
        completion.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;

    internal static (int Prompt, int Completion, int Total) Usage(JsonElement json)
    {
        var usage = json.GetProperty("usage");
        return (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
    }
}

/// <summary>
/// The sample server on a real socket with a generated GPT-2-style decoder (model.onnx with its KV cache, vocab.json,
/// merges.txt, config.json, generation_config.json and a ChatML tokenizer_config.json) uploaded through seed 002 as any
/// client would, and deployed through seed 004 as <see cref="DeploymentId"/>. Shared by the text generation suites of
/// every surface.
/// </summary>
public sealed class DecoderSampleServer : IAsyncLifetime
{
    /// <summary>The decoder's model id.</summary>
    public const string Model = "surfaces-gpt2";

    /// <summary>The decoder's seed 004 deployment.</summary>
    public const string DeploymentId = "surfaces_chat";

    /// <summary>
    /// A decoder whose weights recite the Gettysburg Address (<see cref="ModelKit.ModelGenerator.DecoderModels.CreateRecitingDecoder"/>):
    /// greedy decoding continues any passage of it word for word, so answers can be checked to the character.
    /// </summary>
    public const string RecitingModel = "surfaces-gettysburg";

    private readonly TempDirectory _files = new();

    public KestrelSampleServerFactory Factory { get; } = new();

    /// <summary>The deployment of the demo MLP (not a decoder), which the sample server deploys at start.</summary>
    public string MlpDeploymentId { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var client = Factory.CreateClient();
        await Factory.WaitUntilRunningAsync(client, "demo-mlp");
        ModelKit.ModelGenerator.DecoderModels.WriteGpt2DecoderDirectory(_files.Path);

        await ExpectAsync(await client.PostAsync("/api/v1/models", Json($$"""{"model_id": "{{Model}}", "name": "Generated GPT-2", "task": "text-generation"}""")), HttpStatusCode.Created);
        using (var form = new MultipartFormDataContent())
        {
            foreach (var name in ModelKit.ModelGenerator.DecoderModels.DirectoryFiles)
            {
                form.Add(new StreamContent(File.OpenRead(_files.Combine(name))), "files", name);
            }

            var uploaded = await ExpectAsync(await client.PostAsync($"/api/v1/models/{Model}/upload", form), HttpStatusCode.OK);
            Assert.Equal("ready", uploaded.GetProperty("data").GetProperty("status").GetString());
        }

        // The reciting decoder through the Core registry API (its files straight from disk).
        var reciting = ModelKit.ModelGenerator.DecoderModels.WriteRecitingDecoderDirectory(_files.Combine("reciting"));
        await Factory.Services.GetRequiredService<IModelRegistry>().RegisterAsync(
            new ModelDefinition { Id = RecitingModel, Name = "Reciting decoder", Task = "text-generation" },
            [.. ModelKit.ModelGenerator.DecoderModels.DirectoryFiles.Select(name => ArtifactSource.FromFile(name, Path.Combine(reciting, name)))]);

        await ExpectAsync(await client.PostAsync("/api/deployments/start", Json($$"""{"deployment_id": "{{DeploymentId}}", "model_id": "{{Model}}", "model_source": "local"}""")), HttpStatusCode.OK);
        await WaitUntilRunningAsync(client, DeploymentId);

        var list = await ExpectAsync(await client.GetAsync("/api/deployments/list?status=running"), HttpStatusCode.OK);
        MlpDeploymentId = list.GetProperty("data").GetProperty("deployments").EnumerateArray()
            .First(d => d.GetProperty("model_id").GetString() == "demo-mlp").GetProperty("deployment_id").GetString()!;
    }

    public async Task DisposeAsync()
    {
        await Factory.DisposeAsync();
        _files.Dispose();
    }

    private static async Task WaitUntilRunningAsync(HttpClient client, string deploymentId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var json = await ExpectAsync(await client.GetAsync($"/api/deployments/{deploymentId}"), HttpStatusCode.OK);
            var status = json.GetProperty("data").GetProperty("status").GetString();
            if (status == "running") return;
            if (status == "error" || DateTime.UtcNow > deadline) throw new InvalidOperationException($"Deployment {deploymentId} did not come up: {json}");
            await Task.Delay(50);
        }
    }
}

/// <summary>The text generation suites share one decoder server (they run one after another).</summary>
[CollectionDefinition(Name)]
public sealed class DecoderServerCollection : ICollectionFixture<DecoderSampleServer>
{
    public const string Name = "decoder server";
}

/// <summary>Reads server-sent events as OpenAI streams them.</summary>
internal static class Sse
{
    /// <summary>Posts <paramref name="json"/> and returns the response as soon as its headers are in (the body still streaming).</summary>
    public static Task<HttpResponseMessage> PostAsync(HttpClient client, string path, string json, CancellationToken cancellationToken = default) =>
        client.SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = Json(json) }, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    /// <summary>
    /// Asserts a 200 <c>text/event-stream</c> answer and reads all its events: each <c>data:</c> payload as JSON, and
    /// whether the stream ended with <c>data: [DONE]</c> (nothing may follow it).
    /// </summary>
    public static async Task<(List<JsonElement> Events, bool Done)> ReadAllAsync(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK) Assert.Fail($"expected 200, got {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        var events = new List<JsonElement>();
        var done = false;
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(), Encoding.UTF8);
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0) continue;
            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            Assert.False(done, "an event came after [DONE]: " + line);
            var data = line["data: ".Length..];
            if (data == "[DONE]") done = true;
            else events.Add(JsonDocument.Parse(data).RootElement.Clone());
        }

        return (events, done);
    }

    /// <summary>A streamed chat completion's text per choice (the deltas' content joined) and finish reason per choice.</summary>
    public static (Dictionary<int, string> Text, Dictionary<int, string> FinishReasons) ChatText(IEnumerable<JsonElement> chunks)
    {
        var text = new Dictionary<int, string>();
        var reasons = new Dictionary<int, string>();
        foreach (var chunk in chunks)
        {
            Assert.Equal("chat.completion.chunk", chunk.GetProperty("object").GetString());
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                var index = choice.GetProperty("index").GetInt32();
                var delta = choice.GetProperty("delta");
                if (!text.ContainsKey(index))
                {
                    Assert.Equal("assistant", delta.GetProperty("role").GetString()); // a choice's first delta names the role
                    text[index] = string.Empty;
                }
                else
                {
                    Assert.False(delta.TryGetProperty("role", out _), "only the first delta carries the role");
                }

                Assert.False(reasons.ContainsKey(index), "a chunk came after the choice's finish reason");
                if (delta.TryGetProperty("content", out var content)) text[index] += content.GetString();
                if (choice.GetProperty("finish_reason").GetString() is { } reason) reasons[index] = reason;
            }
        }

        return (text, reasons);
    }

    /// <summary>A streamed text completion's text and finish reason per choice.</summary>
    public static (Dictionary<int, string> Text, Dictionary<int, string> FinishReasons) CompletionText(IEnumerable<JsonElement> chunks)
    {
        var text = new Dictionary<int, string>();
        var reasons = new Dictionary<int, string>();
        foreach (var chunk in chunks)
        {
            Assert.Equal("text_completion", chunk.GetProperty("object").GetString());
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                var index = choice.GetProperty("index").GetInt32();
                Assert.False(reasons.ContainsKey(index), "a chunk came after the choice's finish reason");
                text[index] = text.GetValueOrDefault(index, string.Empty) + choice.GetProperty("text").GetString();
                if (choice.GetProperty("finish_reason").GetString() is { } reason) reasons[index] = reason;
            }
        }

        return (text, reasons);
    }
}
