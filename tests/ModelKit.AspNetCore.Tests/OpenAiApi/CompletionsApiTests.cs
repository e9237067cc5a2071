using System.Net;
using System.Text.Json;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.OpenAiApi;

/// <summary>OpenAI's legacy <c>POST /v1/completions</c> on the real text generation service and a generated decoder.</summary>
[Collection(DecoderServerCollection.Name)]
public sealed class CompletionsApiTests(DecoderSampleServer server)
{
    private const string Model = DecoderSampleServer.Model;

    private readonly HttpClient _client = server.Factory.CreateClient();

    [Fact]
    public async Task Completion_Greedy_IsOpenAisTextCompletion_ForEachPromptForm()
    {
        var json = await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Model}}", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}""")), HttpStatusCode.OK);
        Assert.StartsWith("cmpl-", json.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("text_completion", json.GetProperty("object").GetString());
        Assert.Equal(Model, json.GetProperty("model").GetString());
        Assert.True(json.GetProperty("created").GetInt64() > 1_700_000_000);
        var choice = Assert.Single(json.GetProperty("choices").EnumerateArray());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("logprobs").ValueKind);
        Assert.Contains(choice.GetProperty("finish_reason").GetString(), new[] { "stop", "length" });
        var usage = ChatCompletionsApiTests.Usage(json);
        Assert.InRange(usage.Completion, 1, 8);
        Assert.Equal(usage.Prompt + usage.Completion, usage.Total);

        // An array of one string is the same prompt.
        var array = await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Model}}", "prompt": ["Once upon a time"], "max_tokens": 8, "temperature": 0}""")), HttpStatusCode.OK);
        Assert.Equal(Text(json), Text(array));
        Assert.Equal(usage, ChatCompletionsApiTests.Usage(array));

        // Token ids, as a flat array or an array of one array: the prompt is exactly those tokens.
        var tokens = await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Model}}", "prompt": [40, 41, 42], "max_tokens": 5, "temperature": 0}""")), HttpStatusCode.OK);
        Assert.Equal(3, ChatCompletionsApiTests.Usage(tokens).Prompt);
        var nested = await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Model}}", "prompt": [[40, 41, 42]], "max_tokens": 5, "temperature": 0}""")), HttpStatusCode.OK);
        Assert.Equal(Text(tokens), Text(nested));
    }

    [Fact]
    public async Task Completion_Stream_AddsUpToTheWholeAnswer_WithUsage_AndDone()
    {
        var whole = await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Model}}", "prompt": "Once upon a time", "max_tokens": 10, "temperature": 0}""")), HttpStatusCode.OK);
        using var response = await Sse.PostAsync(_client, "/v1/completions",
            $$"""{"model": "{{Model}}", "prompt": "Once upon a time", "max_tokens": 10, "temperature": 0, "stream": true, "stream_options": {"include_usage": true} }""");
        var (events, done) = await Sse.ReadAllAsync(response);
        Assert.True(done);
        var id = events[0].GetProperty("id").GetString();
        Assert.StartsWith("cmpl-", id, StringComparison.Ordinal);
        Assert.All(events, e => Assert.Equal(id, e.GetProperty("id").GetString()));
        Assert.Equal(0, events[^1].GetProperty("choices").GetArrayLength());
        Assert.Equal(ChatCompletionsApiTests.Usage(whole), ChatCompletionsApiTests.Usage(events[^1]));
        var (text, reasons) = Sse.CompletionText(events.SkipLast(1));
        Assert.Equal(Text(whole), text[0]);
        Assert.Equal(whole.GetProperty("choices")[0].GetProperty("finish_reason").GetString(), reasons[0]);
    }

    [Fact]
    public async Task Completion_LogprobsN2AndStop_AsOpenAiWritesThem()
    {
        // logprobs: N gives the legacy parallel lists; with greedy decoding the likeliest alternative is the token itself.
        var json = await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Model}}", "prompt": "Once upon a time", "max_tokens": 6, "temperature": 0, "logprobs": 2}""")), HttpStatusCode.OK);
        var logprobs = json.GetProperty("choices")[0].GetProperty("logprobs");
        var tokens = logprobs.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        Assert.Equal(ChatCompletionsApiTests.Usage(json).Completion, tokens.Length);
        var values = logprobs.GetProperty("token_logprobs").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var offsets = logprobs.GetProperty("text_offset").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var top = logprobs.GetProperty("top_logprobs").EnumerateArray().ToArray();
        Assert.Equal(tokens.Length, values.Length);
        Assert.Equal(0, offsets[0]);
        for (var i = 0; i < tokens.Length; i++)
        {
            Assert.True(values[i] <= 0);
            Assert.InRange(top[i].EnumerateObject().Count(), 1, 2);
            Assert.Equal(values[i], top[i].GetProperty(tokens[i]).GetSingle(), 1e-4f);
            if (i > 0) Assert.Equal(offsets[i - 1] + tokens[i - 1].Length, offsets[i]);
        }

        // n: 2 with a seed: two choices, the same again; stop cuts before the stop text.
        var body = $$"""{"model": "{{Model}}", "prompt": "Once upon a time", "max_tokens": 6, "temperature": 0.9, "seed": 7, "n": 2}""";
        var two = await ExpectAsync(await _client.PostAsync("/v1/completions", Json(body)), HttpStatusCode.OK);
        Assert.Equal([0, 1], two.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("index").GetInt32()));
        var again = await ExpectAsync(await _client.PostAsync("/v1/completions", Json(body)), HttpStatusCode.OK);
        Assert.Equal(two.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()),
            again.GetProperty("choices").EnumerateArray().Select(c => c.GetProperty("text").GetString()));

        var full = Text(await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Model}}", "prompt": "Once upon a time", "max_tokens": 16, "temperature": 1, "seed": 3}""")), HttpStatusCode.OK));
        Assert.True(full.Length >= 6, $"the completion is too short to cut: '{full}'");
        var stop = full.Substring(full.Length / 2, 2);
        var cut = await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{Model}}", "prompt": "Once upon a time", "max_tokens": 16, "temperature": 1, "seed": 3, "stop": [{{JsonSerializer.Serialize(stop)}}]}""")), HttpStatusCode.OK);
        Assert.Equal(full[..full.IndexOf(stop, StringComparison.Ordinal)], Text(cut));
        Assert.Equal("stop", cut.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Completion_RecitingDecoder_ContinuesTheText_StopsAtTheStopText_AndAtTheEnd()
    {
        const string Address = ModelKit.ModelGenerator.DecoderModels.GettysburgAddress;
        const string Prompt = "Four score and seven years ago";
        var body = $$"""{"model": "{{DecoderSampleServer.RecitingModel}}", "prompt": "{{Prompt}}", "max_tokens": 12, "temperature": 0}""";
        var json = await ExpectAsync(await _client.PostAsync("/v1/completions", Json(body)), HttpStatusCode.OK);
        var text = Text(json);
        Assert.True(text.Length > 30, text);
        Assert.StartsWith(text, Address[Prompt.Length..], StringComparison.Ordinal);
        Assert.Equal((12, "length"), (ChatCompletionsApiTests.Usage(json).Completion, json.GetProperty("choices")[0].GetProperty("finish_reason").GetString()));
        // max_completion_tokens (chat's newer name) is taken here too, and wins over max_tokens.
        var newer = await ExpectAsync(await _client.PostAsync("/v1/completions", Json(body[..^1] + ", \"max_completion_tokens\": 3}")), HttpStatusCode.OK);
        Assert.Equal(3, ChatCompletionsApiTests.Usage(newer).Completion);

        // The stop text ends the choice before it; streamed, the same.
        var stopped = await ExpectAsync(await _client.PostAsync("/v1/completions", Json(body[..^1] + ", \"stop\": [\",\", \"Liberty\"]}")), HttpStatusCode.OK);
        Assert.Equal((" our fathers brought forth on this continent", "stop"), (Text(stopped), stopped.GetProperty("choices")[0].GetProperty("finish_reason").GetString()));
        using var response = await Sse.PostAsync(_client, "/v1/completions", body[..^1] + ", \"stop\": \",\", \"stream\": true}");
        var (streamed, reasons) = Sse.CompletionText((await Sse.ReadAllAsync(response)).Events);
        Assert.Equal((" our fathers brought forth on this continent", "stop"), (streamed[0], reasons[0]));

        // The last words: the text ends with the end-of-text token, so the choice stops there by itself.
        const string Last = "that government of the people,";
        var end = await ExpectAsync(await _client.PostAsync("/v1/completions",
            Json($$"""{"model": "{{DecoderSampleServer.RecitingModel}}", "prompt": "{{Last}}", "max_tokens": 50, "temperature": 0}""")), HttpStatusCode.OK);
        Assert.Equal((" by the people, for the people, shall not perish from the earth.", "stop"), (Text(end), end.GetProperty("choices")[0].GetProperty("finish_reason").GetString()));
    }

    [Theory]
    [InlineData("""{"model": "surfaces-gpt2"}""", "invalid_input", "'prompt' is required", "prompt")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": ["a", "b"]}""", "invalid_input", "holds 2 prompts", "prompt")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": {"text": "a"}}""", "invalid_input", "'prompt' is a JSON object", "prompt")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": [1, 2.5]}""", "invalid_input", "'prompt[1]' is not a token id", "prompt")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": [1, 99999999]}""", "invalid_input", "99999999", "prompt")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "echo": true}""", "invalid_input", "'echo' is not supported", "echo")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "best_of": 3}""", "invalid_input", "'best_of' is not supported", "best_of")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "suffix": "end"}""", "invalid_input", "'suffix' is not supported", "suffix")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "logit_bias": {"50256": -100}}""", "invalid_input", "'logit_bias' is not supported", "logit_bias")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "temperature": 3}""", "invalid_input", "temperature must be between 0 and 2", "temperature")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "top_p": 1.5}""", "invalid_input", "1.5", "top_p")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "max_tokens": 0}""", "invalid_input", "max_tokens must be 1 or more", "max_tokens")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "max_tokens": 1000000}""", "invalid_input", "context", "max_tokens")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "logprobs": 50}""", "invalid_input", "'logprobs' must be between 0 and 20", "logprobs")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "response_format": {"type": "json_object"}}""", "invalid_input", "'response_format' is not supported", "response_format")]
    [InlineData("""{"model": "surfaces-gpt2", "prompt": "x", "max_tokens": "ten"}""", "invalid_input", "wrong JSON type", "max_tokens")]
    [InlineData("""{"model": "demo-mlp", "prompt": "x"}""", "unsupported_task", "demo-mlp", null)]
    public async Task Completion_BadInput_Is400InOpenAiErrorShape(string body, string code, string message, string? param)
    {
        foreach (var sent in new[] { body, body[..^1] + ", \"stream\": true}" })
        {
            var json = await ExpectAsync(await _client.PostAsync("/v1/completions", Json(sent)), HttpStatusCode.BadRequest, code);
            var error = json.GetProperty("error");
            Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
            Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
            if (param is not null) Assert.Equal(param, error.GetProperty("param").GetString());
        }
    }

    private static string Text(JsonElement completion) => completion.GetProperty("choices")[0].GetProperty("text").GetString()!;
}
