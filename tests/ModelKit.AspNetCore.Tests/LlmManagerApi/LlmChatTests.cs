using System.Net;
using System.Text.Json;
using ModelKit.Tests.OpenAiApi;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.LlmManagerApi;

/// <summary>
/// Seed 004's <c>POST /api/chat/{deployment_id}</c> and <c>POST /api/completions/{deployment_id}</c> on a deployment of a
/// generated decoder (the real text generation service): the seed's bodies, its envelope and error codes.
/// </summary>
[Collection(DecoderServerCollection.Name)]
public sealed class LlmChatTests(DecoderSampleServer server)
{
    private const string Deployment = DecoderSampleServer.DeploymentId;
    private readonly HttpClient _client = server.Factory.CreateClient();

    // The envelope: success, message, data, code (the HTTP status), timestamp.
    private static async Task<JsonElement> DataAsync(HttpResponseMessage response)
    {
        var json = await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal((true, 200), (json.GetProperty("success").GetBoolean(), json.GetProperty("code").GetInt32()));
        Assert.True(json.GetProperty("timestamp").TryGetDateTimeOffset(out _));
        return json.GetProperty("data");
    }

    // The error: success false, message, error (the code), timestamp.
    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var json = await ExpectAsync(response, status, code);
        Assert.False(json.GetProperty("success").GetBoolean());
        Assert.True(json.GetProperty("timestamp").TryGetDateTimeOffset(out _));
        return json;
    }

    [Fact]
    public async Task Chat_SeedExampleBody_AnswersTheSeedsShape()
    {
        // The seed's body with a max_tokens the small decoder's context holds.
        var data = await DataAsync(await _client.PostAsync($"/api/chat/{Deployment}", Json("""
            {
              "messages": [
                {"role": "user", "content": "Hello!"}
              ],
              "stream": false,
              "temperature": 0.7,
              "max_tokens": 20,
              "top_p": 0.9
            }
            """)));
        Assert.StartsWith("chatcmpl-", data.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(("chat.completion", DecoderSampleServer.Model), (data.GetProperty("object").GetString(), data.GetProperty("model").GetString()));
        var choice = Assert.Single(data.GetProperty("choices").EnumerateArray());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        Assert.InRange(ChatCompletionsApiTests.Usage(data).Completion, 1, 20);
    }

    [Fact]
    public async Task Completions_SeedExampleBody_AnswersTheSeedsShape_WholeAndStreamed()
    {
        const string Body = """
            {
              "prompt": "Once upon a time",
              "stream": false,
              "temperature": 0.7,
              "max_tokens": 100,
              "top_p": 0.9
            }
            """;
        var data = await DataAsync(await _client.PostAsync($"/api/completions/{Deployment}", Json(Body)));
        Assert.StartsWith("cmpl-", data.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("text_completion", data.GetProperty("object").GetString());
        var usage = ChatCompletionsApiTests.Usage(data);
        Assert.Equal(4, usage.Prompt); // "Once upon a time" is four GPT-2 tokens, as the seed's example counts
        Assert.InRange(usage.Completion, 1, 100);

        var greedy = Body.Replace("\"temperature\": 0.7", "\"temperature\": 0", StringComparison.Ordinal).Replace("100", "12", StringComparison.Ordinal);
        var whole = await DataAsync(await _client.PostAsync($"/api/completions/{Deployment}", Json(greedy)));
        using var response = await Sse.PostAsync(_client, $"/api/completions/{Deployment}", greedy.Replace("\"stream\": false", "\"stream\": true", StringComparison.Ordinal));
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("text").GetString(), Sse.CompletionText(events).Text[0]);

        using var chat = await Sse.PostAsync(_client, $"/api/chat/{Deployment}", """{"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 6, "stream": true}""");
        var (chunks, chatDone) = await Sse.ReadAllAsync(chat);
        Assert.True(chatDone);
        Assert.Single(Sse.ChatText(chunks).FinishReasons);
    }

    [Fact]
    public async Task NotADecoder_IsChatNotSupported_AndUnknownOrStoppedDeployments_AreRefused()
    {
        var mlp = server.MlpDeploymentId;
        var chat = await ErrorAsync(await _client.PostAsync($"/api/chat/{mlp}", Json("""{"messages": [{"role": "user", "content": "Hello!"}]}""")),
            HttpStatusCode.BadRequest, "CHAT_NOT_SUPPORTED");
        Assert.Contains(mlp, chat.GetProperty("message").GetString(), StringComparison.Ordinal);
        await ErrorAsync(await _client.PostAsync($"/api/completions/{mlp}", Json("""{"prompt": "Once upon a time", "stream": true}""")),
            HttpStatusCode.BadRequest, "CHAT_NOT_SUPPORTED");

        await ErrorAsync(await _client.PostAsync("/api/chat/deploy_nope", Json("""{"messages": [{"role": "user", "content": "Hello!"}]}""")),
            HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
        await ErrorAsync(await _client.PostAsync($"/api/chat/{Deployment}", Json("""{"messages": [{"role": "user", "content": "Hello!"}], "temperature": 3}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ErrorAsync(await _client.PostAsync($"/api/completions/{Deployment}", Json("""{"prompt": "x", "top_p": 1.5}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT");

        // A stopped deployment: DEPLOYMENT_NOT_RUNNING (the seed's code) until it runs again.
        await DataAsync(await _client.PutAsync($"/api/deployments/{Deployment}/stop", null));
        try
        {
            await ErrorAsync(await _client.PostAsync($"/api/chat/{Deployment}", Json("""{"messages": [{"role": "user", "content": "Hello!"}]}""")),
                HttpStatusCode.Conflict, "DEPLOYMENT_NOT_RUNNING");
        }
        finally
        {
            await DataAsync(await _client.PutAsync($"/api/deployments/{Deployment}/restart", null));
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await DataAsync(await _client.GetAsync($"/api/deployments/{Deployment}"))).GetProperty("status").GetString() != "running")
            {
                Assert.True(DateTime.UtcNow < deadline, "the deployment did not run again");
                await Task.Delay(50);
            }
        }

        var again = await DataAsync(await _client.PostAsync($"/api/chat/{Deployment}", Json("""{"messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 3}""")));
        Assert.Equal("chat.completion", again.GetProperty("object").GetString());
    }
}
