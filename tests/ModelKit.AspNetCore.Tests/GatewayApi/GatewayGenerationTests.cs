using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ModelKit.Tests.OpenAiApi;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.GatewayApi;

/// <summary>
/// Seed 001's <c>POST /models/{model_id}/completions</c> and <c>…/chat/completions</c> on the real text generation
/// service and a generated decoder, with the seed's bodies and bearer token: OpenAI's objects in the seed's envelope, and
/// OpenAI's chunks as server-sent events with <c>stream: true</c>.
/// </summary>
[Collection(DecoderServerCollection.Name)]
public sealed class GatewayGenerationTests
{
    private const string Model = DecoderSampleServer.Model;
    private readonly HttpClient _client;

    public GatewayGenerationTests(DecoderSampleServer server)
    {
        _client = server.Factory.CreateClient();
        _client.DefaultRequestHeaders.Remove("X-API-Key");
        _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", SampleServerFactory.AdminKey);
    }

    // The envelope: code (the HTTP status), message, data, request_id (a UUID).
    private static async Task<JsonElement> DataAsync(HttpResponseMessage response)
    {
        var json = await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal((200, "success"), (json.GetProperty("code").GetInt32(), json.GetProperty("message").GetString()));
        Assert.True(Guid.TryParse(json.GetProperty("request_id").GetString(), out _));
        return json.GetProperty("data");
    }

    // The error: the envelope with code = status, data null, the code beside it.
    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var json = await ExpectAsync(response, status, code);
        Assert.Equal(((int)status, JsonValueKind.Null), (json.GetProperty("code").GetInt32(), json.GetProperty("data").ValueKind));
        Assert.True(Guid.TryParse(json.GetProperty("request_id").GetString(), out _));
        return json;
    }

    [Fact]
    public async Task Completions_SeedExampleBody_AnswersTheSeedsShape()
    {
        // The seed's request, as written (its "stop" ends the choice at a new line or "user:").
        var data = await DataAsync(await _client.PostAsync($"/models/{Model}/completions", Json("""
            {
              "prompt": "string",
              "max_tokens": 100,
              "temperature": 1.0,
              "top_p": 1.0,
              "n": 1,
              "stream": false,
              "stop": ["\n", "user:"]
            }
            """)));
        Assert.StartsWith("cmpl-", data.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(("text_completion", Model), (data.GetProperty("object").GetString(), data.GetProperty("model").GetString()));
        Assert.True(data.GetProperty("created").GetInt64() > 1_700_000_000);
        var choice = Assert.Single(data.GetProperty("choices").EnumerateArray());
        var text = choice.GetProperty("text").GetString()!;
        Assert.DoesNotContain("\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("user:", text, StringComparison.Ordinal);
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        var usage = ChatCompletionsApiTests.Usage(data);
        Assert.Equal(usage.Prompt + usage.Completion, usage.Total);
        Assert.InRange(usage.Completion, 0, 100);
    }

    [Fact]
    public async Task ChatCompletions_SeedExampleBody_AnswersTheSeedsShape_WholeAndStreamed()
    {
        const string Body = """
            {
              "messages": [
                {
                  "role": "system",
                  "content": "你是一个有用的AI助手。"
                },
                {
                  "role": "user",
                  "content": "你好，请介绍一下自己。"
                }
              ],
              "max_tokens": 24,
              "temperature": 0.7,
              "stream": false
            }
            """;
        var data = await DataAsync(await _client.PostAsync($"/models/{Model}/chat/completions", Json(Body)));
        Assert.StartsWith("chatcmpl-", data.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal(("chat.completion", Model), (data.GetProperty("object").GetString(), data.GetProperty("model").GetString()));
        var choice = Assert.Single(data.GetProperty("choices").EnumerateArray());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.String, choice.GetProperty("message").GetProperty("content").ValueKind);
        Assert.InRange(ChatCompletionsApiTests.Usage(data).Completion, 1, 24);

        // stream: true (the seed leaves the stream undefined): OpenAI's chunks as server-sent events, no envelope.
        var greedy = Body.Replace("\"temperature\": 0.7", "\"temperature\": 0", StringComparison.Ordinal);
        var whole = await DataAsync(await _client.PostAsync($"/models/{Model}/chat/completions", Json(greedy)));
        using var response = await Sse.PostAsync(_client, $"/models/{Model}/chat/completions", greedy.Replace("\"stream\": false", "\"stream\": true", StringComparison.Ordinal));
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        Assert.All(events, e => Assert.False(e.TryGetProperty("request_id", out _)));
        var (text, reasons) = Sse.ChatText(events);
        Assert.Equal(ChatCompletionsApiTests.Content(whole), text[0]);
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), reasons[0]);

        using var completions = await Sse.PostAsync(_client, $"/models/{Model}/completions", """{"prompt": "Once upon a time", "max_tokens": 5, "stream": true}""");
        var (chunks, completed) = await Sse.ReadAllAsync(completions);
        Assert.True(completed);
        Assert.Single(Sse.CompletionText(chunks).FinishReasons);
    }

    [Theory]
    [InlineData("completions", """{"prompt": "x", "temperature": 3}""", "temperature")]
    [InlineData("completions", """{"prompt": "x", "top_p": 1.5}""", "1.5")]
    [InlineData("completions", """{"prompt": "x", "max_tokens": 0}""", "0")]
    [InlineData("completions", """{"max_tokens": 5}""", "'prompt' is required")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "temperature": -0.5}""", "temperature")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "top_p": 1.5}""", "1.5")]
    [InlineData("chat/completions", """{"messages": []}""", "'messages' is empty")]
    [InlineData("chat/completions", """{"messages": [{"role": "robot", "content": "hi"}]}""", "robot")]
    [InlineData("chat/completions", """{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1000000}""", "context")]
    public async Task OutOfRange_Is400InTheEnvelope(string path, string body, string message)
    {
        foreach (var sent in new[] { body, body[..^1] + ", \"stream\": true}" })
        {
            var json = await ErrorAsync(await _client.PostAsync($"/models/{Model}/{path}", Json(sent)), HttpStatusCode.BadRequest, "INVALID_INPUT");
            Assert.Contains(message, json.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task NotADecoder_Is400UnsupportedTask_AndAnUnknownModel404()
    {
        await ErrorAsync(await _client.PostAsync("/models/demo-mlp/completions", Json("""{"prompt": "x"}""")), HttpStatusCode.BadRequest, "UNSUPPORTED_TASK");
        await ErrorAsync(await _client.PostAsync("/models/demo-mlp/chat/completions", Json("""{"messages": [{"role": "user", "content": "hi"}], "stream": true}""")),
            HttpStatusCode.BadRequest, "UNSUPPORTED_TASK");
        await ErrorAsync(await _client.PostAsync("/models/gpt-4/chat/completions", Json("""{"messages": [{"role": "user", "content": "hi"}]}""")),
            HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ErrorAsync(await _client.PostAsync("/models/openai/gpt-4/completions", Json("""{"prompt": "x"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
    }

    [Fact]
    public async Task ChatWithABodyThatIsNotJson_Is415_NotAnotherRoute()
    {
        // Not /models/{org}/{name}/completions with org = the model and name = "chat".
        using var body = new StringContent("""{"messages": [{"role": "user", "content": "x"}], "max_tokens": 1}""", System.Text.Encoding.UTF8, "text/json");
        await ErrorAsync(await _client.PostAsync($"/models/{DecoderSampleServer.RecitingModel}/chat/completions", body), HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE");
    }
}
