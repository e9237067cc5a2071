using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Onnx.Text.Generation;
using ModelKit.Remote;
using ModelKit.Tests.OpenAiApi;
using ModelKit.Text;
using OpenAI;
using OpenAI.Chat;

using static ModelKit.Tests.Http;
using static ModelKit.Tests.OpenAiApi.ChatCompletionsApiTests;

namespace ModelKit.Tests;

/// <summary>
/// Remote providers: a front sample server (Kestrel) serves models configured as OpenAI-compatible endpoints, and the
/// provider is a second sample server (Kestrel, real sockets) serving its generated chat model. Every answer through the
/// front is checked against the same request sent to the provider directly. Beside it: an address that refuses
/// connections (a provider that is down), a listener that accepts and never answers (a slow provider), and a wrong key.
/// </summary>
public sealed class RemoteModelsTests(RemoteServers servers) : IClassFixture<RemoteServers>
{
    private const string Remote = RemoteServers.Remote;
    private const string ProviderModel = RemoteServers.ProviderModel;
    private const string Messages = """[{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Four score and seven years"}]""";

    private readonly HttpClient _front = servers.Front.CreateClient();
    private readonly HttpClient _provider = servers.Provider.CreateClient();

    [Fact]
    public async Task Lists_RemoteModelsBesideLocalOnes_InV1AndSeed001()
    {
        var v1 = await ExpectAsync(await _front.GetAsync("/v1/models"), HttpStatusCode.OK);
        var listed = v1.GetProperty("data").EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!);
        Assert.Equal("modelkit", listed["demo-mlp"].GetProperty("owned_by").GetString());
        Assert.Equal("modelkit", listed[Remote].GetProperty("owned_by").GetString()); // the configured provider's name
        Assert.Equal("openai", listed[RemoteServers.Down].GetProperty("owned_by").GetString()); // the default provider name
        var one = await ExpectAsync(await _front.GetAsync($"/v1/models/{Remote}"), HttpStatusCode.OK);
        Assert.Equal(("model", Remote), (one.GetProperty("object").GetString(), one.GetProperty("id").GetString()));

        var seed = await ExpectAsync(await _front.GetAsync("/models"), HttpStatusCode.OK);
        var models = seed.GetProperty("data").GetProperty("models").EnumerateArray().ToDictionary(m => m.GetProperty("id").GetString()!);
        Assert.Equal("local", models["demo-mlp"].GetProperty("provider").GetString());
        Assert.True(models["demo-mlp"].TryGetProperty("deployment", out _));
        var remote = models[Remote];
        Assert.Equal("modelkit", remote.GetProperty("provider").GetString());
        Assert.Equal("Gettysburg, served by another ModelKit", remote.GetProperty("name").GetString());
        Assert.Equal("The second host's generated chat model.", remote.GetProperty("description").GetString());
        Assert.Equal("active", remote.GetProperty("status").GetString());
        Assert.Equal(["chat", "completion"], remote.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        Assert.False(remote.TryGetProperty("deployment", out _)); // as the seed's remote examples: no deployment here
        Assert.False(remote.TryGetProperty("framework", out _));
        Assert.DoesNotContain("127.0.0.1", seed.GetRawText(), StringComparison.Ordinal); // no provider address, no key
        Assert.DoesNotContain(SampleServerFactory.AdminKey, seed.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChatCompletion_ThroughTheFront_IsTheProvidersAnswer_AndCountsInTheModelsStats()
    {
        var body = $$"""{"messages": {{Messages}}, "max_tokens": 10, "temperature": 0}""";
        var direct = await ExpectAsync(await _provider.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{ProviderModel}}", "messages": {{Messages}}, "max_tokens": 10, "temperature": 0}""")), HttpStatusCode.OK);
        var front = await ExpectAsync(await _front.PostAsync("/v1/chat/completions", Json($$"""{"model": "{{Remote}}", "messages": {{Messages}}, "max_tokens": 10, "temperature": 0}""")), HttpStatusCode.OK);
        Assert.Equal(Content(direct), Content(front));
        Assert.Equal(Usage(direct), Usage(front));
        Assert.Equal(Remote, front.GetProperty("model").GetString());
        Assert.Equal(ProviderModel, front.GetProperty("model_version").GetString()); // the provider's name for the model that answered
        Assert.Equal(direct.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), front.GetProperty("choices")[0].GetProperty("finish_reason").GetString());

        // Seed 001's chat endpoint: the same answer inside its envelope; then the model's stats count the requests.
        var seed = await ExpectAsync(await _front.PostAsync($"/models/{Remote}/chat/completions", Json(body)), HttpStatusCode.OK);
        Assert.Equal(Content(direct), Content(seed.GetProperty("data")));
        var detail = await ExpectAsync(await _front.GetAsync($"/models/{Remote}"), HttpStatusCode.OK);
        Assert.Equal(1024, detail.GetProperty("data").GetProperty("parameters").GetProperty("max_tokens").GetInt32()); // its configured ContextLength
        var stats = detail.GetProperty("data").GetProperty("stats");
        Assert.True(stats.GetProperty("succeeded_requests").GetInt64() >= 2);
        Assert.True(stats.GetProperty("average_latency_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task Stream_WithTheOfficialOpenAiClient_AddsUpToTheProvidersWholeAnswer()
    {
        var whole = await ExpectAsync(await _provider.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{ProviderModel}}", "messages": {{Messages}}, "max_tokens": 12, "temperature": 0}""")), HttpStatusCode.OK);

        var client = new ChatClient(Remote, new ApiKeyCredential(SampleServerFactory.AdminKey), new OpenAIClientOptions { Endpoint = new Uri(_front.BaseAddress!, "/v1") });
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var chunks = 0;
        await foreach (var update in client.CompleteChatStreamingAsync(
            [new SystemChatMessage("Answer briefly."), new UserChatMessage("Four score and seven years")], new ChatCompletionOptions { MaxOutputTokenCount = 12, Temperature = 0 }))
        {
            chunks++;
            foreach (var part in update.ContentUpdate) text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.True(chunks > 2, $"expected the answer in several chunks, got {chunks}");
        Assert.Equal(Content(whole), text.ToString());
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), finish?.ToString().ToLowerInvariant());
        Assert.NotNull(usage);
        Assert.Equal(Usage(whole).Completion, usage.OutputTokenCount);
        Assert.Equal(Usage(whole).Prompt, usage.InputTokenCount);
    }

    [Fact]
    public async Task Completion_SendsThePromptAsOneUserMessage_WholeAndStreamedThroughSeed001()
    {
        const string Prompt = "that government of the people,";
        var direct = await ExpectAsync(await _provider.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{ProviderModel}}", "messages": [{"role": "user", "content": "{{Prompt}}"}], "max_tokens": 8, "temperature": 0}""")), HttpStatusCode.OK);
        var completion = await ExpectAsync(await _front.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Remote}}", "prompt": "{{Prompt}}", "max_tokens": 8, "temperature": 0}""")), HttpStatusCode.OK);
        Assert.Equal("text_completion", completion.GetProperty("object").GetString());
        Assert.Equal(Content(direct), completion.GetProperty("choices")[0].GetProperty("text").GetString());

        using var response = await Sse.PostAsync(_front, $"/models/{Remote}/completions",
            $$"""{"prompt": "{{Prompt}}", "max_tokens": 8, "temperature": 0, "stream": true, "stream_options": {"include_usage": true} }""");
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        var text = string.Concat(events.SelectMany(e => e.GetProperty("choices").EnumerateArray()).Select(c => c.GetProperty("text").GetString()));
        Assert.Equal(Content(direct), text);
        Assert.Equal(Usage(direct).Completion, events[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task NSeedLogprobsAndTopK_ReachTheProvider()
    {
        // n = 2 runs as two requests with seeds 7 and 8: each choice is the provider's answer to that seed.
        var front = await ExpectAsync(await _front.PostAsync("/v1/chat/completions", Json($$"""
            {"model": "{{Remote}}", "messages": {{Messages}}, "max_tokens": 6, "temperature": 1.2, "seed": 7, "n": 2, "logprobs": true, "top_logprobs": 2}
            """)), HttpStatusCode.OK);
        var choices = front.GetProperty("choices").EnumerateArray().ToArray();
        Assert.Equal(2, choices.Length);
        var completionTokens = 0;
        for (var i = 0; i < 2; i++)
        {
            var direct = await ExpectAsync(await _provider.PostAsync("/v1/chat/completions", Json($$"""
                {"model": "{{ProviderModel}}", "messages": {{Messages}}, "max_tokens": 6, "temperature": 1.2, "seed": {{7 + i}}, "logprobs": true, "top_logprobs": 2}
                """)), HttpStatusCode.OK);
            Assert.Equal(i, choices[i].GetProperty("index").GetInt32());
            Assert.Equal(Content(direct), choices[i].GetProperty("message").GetProperty("content").GetString());
            var tokens = choices[i].GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
            var expected = direct.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("content").EnumerateArray().ToArray();
            Assert.Equal(expected.Select(t => t.GetProperty("token").GetString()), tokens.Select(t => t.GetProperty("token").GetString()));
            Assert.Equal(expected.Select(t => t.GetProperty("logprob").GetSingle()), tokens.Select(t => t.GetProperty("logprob").GetSingle()));
            Assert.All(tokens, t => Assert.Equal(2, t.GetProperty("top_logprobs").GetArrayLength()));
            completionTokens += Usage(direct).Completion;
        }

        Assert.Equal(completionTokens, Usage(front).Completion);

        // top_k = 1 leaves one candidate, so a hot temperature still gives the greedy answer: the provider got top_k.
        // Without it the same seeds do not all give the greedy answer (so the check can fail).
        var greedy = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Remote}}", "messages": {{Messages}}, "max_tokens": 8, "temperature": 0}""")), HttpStatusCode.OK);
        var differs = false;
        for (var seed = 1; seed <= 3; seed++)
        {
            var topK = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
                Json($$"""{"model": "{{Remote}}", "messages": {{Messages}}, "max_tokens": 8, "temperature": 2, "top_k": 1, "seed": {{seed}}}""")), HttpStatusCode.OK);
            Assert.Equal(Content(greedy), Content(topK));
            var hot = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
                Json($$"""{"model": "{{Remote}}", "messages": {{Messages}}, "max_tokens": 8, "temperature": 2, "seed": {{seed}}}""")), HttpStatusCode.OK);
            differs |= Content(hot) != Content(greedy);
        }

        Assert.True(differs, "temperature 2 without top_k gave the greedy answer for every seed: this check proves nothing");
    }

    [Fact]
    public async Task ClientThatLeavesAStream_StopsTheProviderRequest()
    {
        // The scripted provider streams until its client goes away.
        using (var leaving = servers.Front.CreateClient())
        {
            using var response = await Sse.PostAsync(leaving, "/v1/chat/completions",
                $$"""{"model": "{{RemoteServers.Endless}}", "messages": [{"role": "user", "content": "x"}], "stream": true}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: {", await reader.ReadLineAsync(), StringComparison.Ordinal);
        } // the front's client leaves here, its stream half read

        // The front cancels its provider request: the provider sees its connection closed.
        await servers.Scripted.EndlessClosed.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task OneChoiceFailing_FailsTheRequestAtOnce_AndStopsTheOthers()
    {
        // n = 2, seeds 0 and 1: the provider refuses seed 1 after 300 ms and never answers seed 0 (the model's timeout is a
        // minute). The refusal is the answer, and the request for seed 0 is cancelled.
        var json = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{RemoteServers.Split}}", "messages": {{Messages}}, "n": 2, "seed": 0}""")), HttpStatusCode.BadRequest, "invalid_input");
        Assert.Contains("seed 1 is refused here", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        await servers.Scripted.SplitClosed.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Stream_OneChoiceFailingWhileTheReaderIsBusy_IsThatChoicesError()
    {
        // Seed 0 streams 30 chunks 100 ms apart, seed 1 is refused after 300 ms; the reader takes 200 ms per update, so
        // the refusal comes while it is busy. It must still read the provider's refusal, not a cancellation.
        var service = servers.Front.Services.GetRequiredService<ITextGenerationService>();
        var request = new TextGenerationRequest { ModelId = RemoteServers.Split, Messages = [new("user", "x")], N = 2, Seed = 0 };
        var updates = 0;
        var error = await Assert.ThrowsAsync<InvalidInputException>(async () =>
        {
            await foreach (var update in service.GenerateStreamingAsync(request))
            {
                updates++;
                await Task.Delay(200);
            }
        });
        Assert.Contains("seed 1 is refused here", error.Message, StringComparison.Ordinal);
        Assert.True(updates > 0, "the updates before the refusal are delivered");
    }

    [Fact]
    public async Task Stream_AReaderSlowerThanTheTimeout_IsNotAProviderTimeout()
    {
        // The model's timeout is 1 s; the provider answers at once, the reader pauses 2 s after the first update.
        var direct = await ExpectAsync(await _provider.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{ProviderModel}}", "messages": {{Messages}}, "max_tokens": 6, "temperature": 0}""")), HttpStatusCode.OK);
        var service = servers.Front.Services.GetRequiredService<ITextGenerationService>();
        var text = new StringBuilder();
        TextGenerationUsage? usage = null;
        await foreach (var update in service.GenerateStreamingAsync(new TextGenerationRequest
        {
            ModelId = RemoteServers.ShortTimeout,
            Messages = [new("system", "Answer briefly."), new("user", "Four score and seven years")],
            MaxTokens = 6,
            Temperature = 0,
        }))
        {
            if (text.Length == 0) await Task.Delay(TimeSpan.FromSeconds(2));
            text.Append(update.Text);
            usage ??= update.Usage;
        }

        Assert.Equal(Content(direct), text.ToString());
        Assert.Equal(Usage(direct).Completion, usage?.CompletionTokens);
    }

    [Fact]
    public async Task IChatClient_OverTheHostsGenerationService_ReachesTheRemoteModel()
    {
        var direct = await ExpectAsync(await _provider.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{ProviderModel}}", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 6, "temperature": 0}""")), HttpStatusCode.OK);
        using var chat = servers.Front.Services.GetRequiredService<ModelKitChatClients>().Create(Remote);
        var response = await Microsoft.Extensions.AI.ChatClientExtensions.GetResponseAsync(chat, "Hello", new Microsoft.Extensions.AI.ChatOptions { MaxOutputTokens = 6, Temperature = 0 });
        Assert.Equal(Content(direct), response.Text);
        Assert.Equal(Usage(direct).Completion, (int?)response.Usage?.OutputTokenCount);
    }

    [Fact]
    public async Task BadRequests_AreRefusedBeforeTheProvider_OrWithItsWords()
    {
        // Out of range here: refused with the local words, the provider never called.
        var before = servers.Front.Services.GetRequiredService<IRemoteModelCatalog>().GetStats(Remote);
        var json = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Remote}}", "messages": [{"role": "robot", "content": "x"}], "temperature": 3}""")), HttpStatusCode.BadRequest, "invalid_input");
        var message = json.GetProperty("error").GetProperty("message").GetString();
        Assert.Contains("temperature must be between 0 and 2", message, StringComparison.Ordinal);
        Assert.Contains("messages[0].role 'robot' is not supported", message, StringComparison.Ordinal);
        Assert.Equal(before, servers.Front.Services.GetRequiredService<IRemoteModelCatalog>().GetStats(Remote));

        // Beyond the provider's context: its 400, in the front's shape with its words; the provider's availability is
        // not charged with the client's mistake.
        json = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Remote}}", "messages": {{Messages}}, "max_tokens": 1000000}""")), HttpStatusCode.BadRequest, "invalid_input");
        Assert.Contains("The provider refused the request for remote model 'remote-gettysburg'", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("context", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(before.Failed, servers.Front.Services.GetRequiredService<IRemoteModelCatalog>().GetStats(Remote).Failed);

        // A provider's refusal that repeats the key and its own address is quoted without them.
        json = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{RemoteServers.Leaky}}", "messages": {{Messages}}}""")), HttpStatusCode.BadRequest, "invalid_input");
        Assert.Contains("Invalid key Bearer …", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(RemoteServers.LeakyKey, json.GetRawText(), StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", json.GetRawText(), StringComparison.Ordinal);

        // Embeddings are not relayed: the listed model is no encoder here.
        await ExpectAsync(await _front.PostAsync("/v1/embeddings", Json($$"""{"model": "{{Remote}}", "input": ["a"]}""")), HttpStatusCode.BadRequest, "unsupported_task");
        await ExpectAsync(await _front.PostAsync($"/models/{Remote}/embeddings", Json("""{"input": ["a"]}""")), HttpStatusCode.BadRequest, "UNSUPPORTED_TASK");

        // Token ids mean nothing without the provider's tokenizer.
        await ExpectAsync(await _front.PostAsync("/v1/completions", Json($$"""{"model": "{{Remote}}", "prompt": [1, 2, 3]}""")), HttpStatusCode.BadRequest, "unsupported_task");

        // A version the remote model does not have.
        await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Remote}}", "messages": {{Messages}}, "version": "9"}""")), HttpStatusCode.NotFound, "model_not_found");
    }

    [Fact]
    public async Task ProviderDown_IsProviderUnavailable_InEachSurfacesShape_WithoutItsAddress()
    {
        var watch = Stopwatch.StartNew();
        var v1 = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{RemoteServers.Down}}", "messages": {{Messages}}}""")), HttpStatusCode.BadGateway, "provider_unavailable");
        Assert.Contains("could not be reached (the connection was refused or dropped)", v1.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("server_error", v1.GetProperty("error").GetProperty("type").GetString());

        var seed = await ExpectAsync(await _front.PostAsync($"/models/{RemoteServers.Down}/chat/completions", Json($$"""{"messages": {{Messages}}}""")), HttpStatusCode.BadGateway, "PROVIDER_UNAVAILABLE");
        Assert.Equal(502, seed.GetProperty("code").GetInt32());

        // Streamed: the error comes as the answer, before any event.
        using var stream = await Sse.PostAsync(_front, "/v1/chat/completions", $$"""{"model": "{{RemoteServers.Down}}", "messages": {{Messages}}, "stream": true}""");
        await ExpectAsync(stream, HttpStatusCode.BadGateway, "provider_unavailable");

        // Seed 003's socket: an error frame in its shape, and the socket serves the next request.
        var frames = await servers.SocketAsync(
            $$"""{"id": "down", "task": "chat", "model_name": "{{RemoteServers.Down}}", "data": {"messages": [{"role": "user", "content": "Hi"}]} }""",
            $$"""{"id": "up", "task": "chat", "model_name": "{{Remote}}", "data": {"messages": [{"role": "user", "content": "Hi"}]}, "options": {"max_tokens": 3, "temperature": 0} }""");
        var error = frames.Single(f => f.GetProperty("id").GetString() == "down");
        Assert.Equal("error", error.GetProperty("type").GetString());
        Assert.Equal("INFERENCE_FAILED", error.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal("PROVIDER_UNAVAILABLE", error.GetProperty("error").GetProperty("details").GetProperty("modelkit_code").GetString());
        Assert.Equal("done", frames.Last(f => f.GetProperty("id").GetString() == "up").GetProperty("type").GetString());

        foreach (var text in new[] { v1.GetRawText(), seed.GetRawText(), error.GetRawText() })
        {
            Assert.DoesNotContain("127.0.0.1", text, StringComparison.Ordinal);
            Assert.DoesNotContain(servers.DownPort.ToString(System.Globalization.CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        }

        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the down provider took {watch.Elapsed} to report");
    }

    [Fact]
    public async Task ProviderSlow_IsProviderTimeout_WholeAndStreamed_AndTheServerStaysUp()
    {
        var watch = Stopwatch.StartNew();
        var v1 = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{RemoteServers.Slow}}", "messages": {{Messages}}}""")), HttpStatusCode.GatewayTimeout, "provider_timeout");
        Assert.Contains("did not answer for remote model 'remote-slow'", v1.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains("within 1 s", v1.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        using var stream = await Sse.PostAsync(_front, $"/models/{RemoteServers.Slow}/chat/completions", $$"""{"messages": {{Messages}}, "stream": true}""");
        var seed = await ExpectAsync(stream, HttpStatusCode.GatewayTimeout, "PROVIDER_TIMEOUT");
        Assert.Equal(504, seed.GetProperty("code").GetInt32());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), $"the slow provider held the requests for {watch.Elapsed}");

        var detail = await ExpectAsync(await _front.GetAsync($"/models/{RemoteServers.Slow}"), HttpStatusCode.OK);
        Assert.True(detail.GetProperty("data").GetProperty("stats").GetProperty("failed_requests").GetInt64() >= 2);
        await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Remote}}", "messages": {{Messages}}, "max_tokens": 2}""")), HttpStatusCode.OK);
    }

    [Theory]
    [InlineData(RemoteServers.Drops, "provider_unavailable", "broke")]
    [InlineData(RemoteServers.Stalls, "provider_timeout", "within 3 s")]
    public async Task ProviderThatFailsMidStream_EndsTheStreamWithAnErrorEvent(string model, string code, string says)
    {
        // The provider sends its first chunk, then drops the connection or goes silent: the client has the first text,
        // then one last event with the error (no [DONE]), and the front serves the next request.
        using var response = await Sse.PostAsync(_front, "/v1/chat/completions", $$"""{"model": "{{model}}", "messages": {{Messages}}, "stream": true}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.DoesNotContain("data: [DONE]", lines);
        var events = lines.Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement).ToList();
        Assert.Equal("Four", events[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("content").GetString());
        var error = events[^1].GetProperty("error");
        Assert.True(code == error.GetProperty("code").GetString(), events[^1].GetRawText());
        Assert.Contains(says, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", events[^1].GetRawText(), StringComparison.Ordinal);
        await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{Remote}}", "messages": {{Messages}}, "max_tokens": 2}""")), HttpStatusCode.OK);
    }

    [Fact]
    public async Task ProviderLimitingTheRate_IsQueueFullAtOnce_WithItsRetryAfter()
    {
        // No retry sleeps through the provider's hour: the client gets 429 and decides.
        using var response = await _front.PostAsync("/v1/chat/completions", Json($$"""{"model": "{{RemoteServers.Limited}}", "messages": {{Messages}}}"""));
        var json = await ExpectAsync(response, HttpStatusCode.TooManyRequests, "queue_full");
        Assert.Equal(TimeSpan.FromHours(1), response.Headers.RetryAfter?.Delta);
        Assert.Contains("Rate limit reached for requests", json.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, servers.Scripted.LimitRequests);
    }

    [Fact]
    public async Task WrongKey_IsProviderUnavailable_NamingTheSetting_NotTheKey()
    {
        var json = await ExpectAsync(await _front.PostAsync("/v1/chat/completions",
            Json($$"""{"model": "{{RemoteServers.WrongKey}}", "messages": {{Messages}}}""")), HttpStatusCode.BadGateway, "provider_unavailable");
        var message = json.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("refused this server's credentials", message, StringComparison.Ordinal);
        Assert.Contains("HTTP 401", message, StringComparison.Ordinal);
        Assert.DoesNotContain(RemoteServers.BadKey, json.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public void Options_AreValidatedAtStart_NamingEachWrongField()
    {
        var services = new ServiceCollection();
        services.AddModelKit().AddRemoteModels(o =>
        {
            o.Timeout = TimeSpan.Zero;
            o.Models["no-endpoint"] = new RemoteModelOptions();
            o.Models["ftp"] = new RemoteModelOptions { Endpoint = new Uri("ftp://example.org/v1"), MaxRetries = 99 };
        });
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => provider.GetRequiredService<RemoteTextGenerationService>());
        Assert.Contains("ModelKit:RemoteModels:Timeout must be above 0", error.Message, StringComparison.Ordinal);
        Assert.Contains("ModelKit:RemoteModels:Models:no-endpoint:Endpoint must be an absolute http or https address", error.Message, StringComparison.Ordinal);
        Assert.Contains("ModelKit:RemoteModels:Models:ftp:Endpoint", error.Message, StringComparison.Ordinal);
        Assert.Contains("ModelKit:RemoteModels:Models:ftp:MaxRetries must be 0..10", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Router_TakesTheHostsGenerationService_WhicheverIsAddedFirst()
    {
        foreach (var remoteFirst in new[] { true, false })
        {
            var services = new ServiceCollection();
            services.AddLogging();
            var builder = services.AddModelKit(o => o.DataDirectory = Path.GetTempPath());
            if (remoteFirst) builder.AddRemoteModels(o => o.Models["r"] = new RemoteModelOptions { Endpoint = new Uri("http://127.0.0.1:9/v1") });
            builder.AddOnnxRuntime();
            if (!remoteFirst) builder.AddRemoteModels(o => o.Models["r"] = new RemoteModelOptions { Endpoint = new Uri("http://127.0.0.1:9/v1") });

            Assert.Single(services, d => d.ServiceType == typeof(ITextGenerationService) && !d.IsKeyedService);
            await using var provider = services.BuildServiceProvider();
            var service = provider.GetRequiredService<ITextGenerationService>();
            Assert.Equal("TextGenerationRouter", service.GetType().Name);
            Assert.IsType<TextGenerationService>(provider.GetRequiredKeyedService<ITextGenerationService>(TextGenerationServiceKeys.Local));
        }
    }
}
