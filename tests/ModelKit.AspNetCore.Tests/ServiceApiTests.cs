using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.AspNetCore;
using ModelKit.AspNetCore.InferenceApi;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>
/// Seed 003 (<c>/inference/…</c>) through HTTP, beyond the document's own examples (Seed003ExampleTests): its error shape,
/// the unified call and the legacy ones, batches, async jobs, cache management, statistics, examples, preload.
/// </summary>
public sealed class ServiceApiTests : IClassFixture<SampleServerFactory>
{
    private static readonly string Row = JsonSerializer.Serialize(new[] { Enumerable.Range(0, 64).Select(i => i * 0.01f).ToArray() });
    private static readonly string BertInputs = """{"input_ids": [[101, 7, 102]], "attention_mask": [[1, 1, 1]], "token_type_ids": [[0, 0, 0]]}""";
    private readonly SampleServerFactory _factory;
    private readonly HttpClient _client;

    public ServiceApiTests(SampleServerFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    // The seed's ErrorResponse: success false, error {type, message, code, details}, timestamp (Unix seconds).
    private static async Task<JsonElement> ExpectErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string type)
    {
        var body = await ExpectAsync(response, status, code);
        Assert.False(body.GetProperty("success").GetBoolean());
        var error = body.GetProperty("error");
        Assert.Equal(type, error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("details").GetProperty("request_id").GetString()));
        Assert.InRange(body.GetProperty("timestamp").GetDouble(), DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds());
        return error;
    }

    [Fact]
    public async Task Infer_SeedBody_ReturnsResultAndProcessingTime()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var ok = await ExpectAsync(await _client.PostAsync("/inference/infer",
            Json($$$"""{"task": "classification", "engine": "onnxruntime", "model_name": "demo-mlp", "data": {"x": {{{Row}}}}, "options": {"timeout": 30, "priority": "high"}}""")), HttpStatusCode.OK);
        Assert.True(ok.GetProperty("success").GetBoolean());
        Assert.Equal(("classification", "onnxruntime", "demo-mlp", "1"),
            (ok.GetProperty("task").GetString(), ok.GetProperty("engine").GetString(), ok.GetProperty("model_name").GetString(), ok.GetProperty("model_version").GetString()));
        var logits = ok.GetProperty("result").GetProperty("outputs").GetProperty("logits");
        Assert.Equal([1, 10], logits.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(10, logits.GetProperty("data").GetArrayLength());
        Assert.True(ok.GetProperty("processing_time").GetDouble() > 0);
        Assert.False(string.IsNullOrEmpty(ok.GetProperty("request_id").GetString()));

        // Without a task none is checked (or echoed); "onnx" (any case) selects ONNX Runtime too.
        var plain = await ExpectAsync(await _client.PostAsync("/inference/infer", Json($$"""{"engine": "ONNX", "model_name": "demo-mlp", "data": {{Row}}}""")), HttpStatusCode.OK);
        Assert.False(plain.TryGetProperty("task", out _));
        Assert.Equal(logits.GetProperty("data")[0].GetSingle(), plain.GetProperty("result").GetProperty("outputs").GetProperty("logits").GetProperty("data")[0].GetSingle(), 5);
    }

    [Fact]
    public async Task Infer_Errors_AreTheSeedsErrorResponse_WithItsCodes()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var missing = await ExpectErrorAsync(await _client.PostAsync("/inference/infer", Json($$"""{"model_name": "ghost", "data": {{Row}}}""")),
            HttpStatusCode.NotFound, "MODEL_NOT_FOUND", "ModelNotFoundError");
        Assert.True(missing.GetProperty("details").TryGetProperty("hint", out _));
        var task = await ExpectErrorAsync(await _client.PostAsync("/inference/infer", Json($$"""{"task": "text-generation", "model_name": "demo-mlp", "data": {{Row}}}""")),
            HttpStatusCode.BadRequest, "UNSUPPORTED_TASK", "UnsupportedTaskError");
        Assert.Contains("performs 'classification', not 'text-generation'", task.GetProperty("message").GetString(), StringComparison.Ordinal);
        var engine = await ExpectErrorAsync(await _client.PostAsync("/inference/infer", Json($$"""{"engine": "ollama", "model_name": "demo-mlp", "data": {{Row}}}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT", "UnsupportedEngineError");
        Assert.Equal("ollama", engine.GetProperty("details").GetProperty("engine").GetString());
        Assert.Equal(["onnxruntime", "onnx"], engine.GetProperty("details").GetProperty("supported_engines").EnumerateArray().Select(e => e.GetString()));
        var shape = await ExpectErrorAsync(await _client.PostAsync("/inference/infer", Json("""{"model_name": "demo-mlp", "data": [[1, 2, 3]]}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        Assert.Contains("input 'x' expects float32[?,64], got float32[1,3]", shape.GetProperty("message").GetString(), StringComparison.Ordinal);
        await ExpectErrorAsync(await _client.PostAsync("/inference/infer", Json("""{"model_name": "demo-mlp"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        await ExpectErrorAsync(await _client.PostAsync("/inference/infer", Json($$"""{"data": {{Row}}}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        await ExpectErrorAsync(await _client.PostAsync("/inference/infer", Json($$$"""{"model_name": "demo-mlp", "data": {{{Row}}}, "options": {"timeout": "soon"}}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");

        // The framework's answers and the key handler's come in the same shape.
        await ExpectErrorAsync(await _client.GetAsync("/inference/no-such-thing"), HttpStatusCode.NotFound, "NOT_FOUND", "NotFoundError");
        await ExpectErrorAsync(await _client.GetAsync("/inference/infer"), HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED", "MethodNotAllowedError");
        var anonymous = _factory.CreateClient();
        anonymous.DefaultRequestHeaders.Remove("X-API-Key");
        await ExpectErrorAsync(await anonymous.PostAsync("/inference/infer", Json($$"""{"model_name": "demo-mlp", "data": {{Row}}}""")), HttpStatusCode.Unauthorized, "UNAUTHORIZED", "UnauthorizedError");
        await ExpectAsync(await anonymous.GetAsync("/inference/health"), HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("QUEUE_FULL", 429, "RESOURCE_EXHAUSTED", "ResourceExhaustedError")]
    [InlineData("INSUFFICIENT_RESOURCES", 503, "RESOURCE_EXHAUSTED", "ResourceExhaustedError")]
    [InlineData("RATE_LIMITED", 429, "RESOURCE_EXHAUSTED", "ResourceExhaustedError")]
    [InlineData("INFERENCE_TIMEOUT", 408, "TIMEOUT", "TimeoutError")]
    [InlineData("PAYLOAD_TOO_LARGE", 413, "INVALID_INPUT", "InvalidInputError")]
    [InlineData("INFERENCE_FAILED", 500, "INFERENCE_FAILED", "InferenceError")]
    [InlineData("JOB_NOT_FOUND", 404, "JOB_NOT_FOUND", "JobNotFoundError")]
    public async Task ErrorWriter_MapsModelKitCodesOntoTheSeeds(string modelKitCode, int status, string seedCode, string type)
    {
        var context = new DefaultHttpContext { RequestServices = new ServiceCollection().AddLogging().BuildServiceProvider() };
        context.Response.Body = new MemoryStream();
        await InferenceApiErrors.Writer(context, new SurfaceError(status, modelKitCode, "what went wrong", RetryAfterSeconds: status == 429 ? 3 : null)).ExecuteAsync(context);
        context.Response.Body.Position = 0;
        var body = JsonDocument.Parse(context.Response.Body).RootElement;
        Assert.Equal(status, context.Response.StatusCode);
        var error = body.GetProperty("error");
        Assert.Equal((seedCode, type, "what went wrong"), (error.GetProperty("code").GetString(), error.GetProperty("type").GetString(), error.GetProperty("message").GetString()));
        var details = error.GetProperty("details");
        Assert.Equal(seedCode == modelKitCode ? null : modelKitCode, details.TryGetProperty("modelkit_code", out var original) ? original.GetString() : null);
        Assert.Equal(status == 429, details.TryGetProperty("retry_after", out _));
    }

    [Fact]
    public async Task Timeout_RunPastItIsTimeout_AndTheServerStaysUp()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-bert");
        var metadata = await _client.GetFromJsonAsync<JsonElement>("/v2/models/demo-bert");
        string Inputs(int rows, int length) => "{" + string.Join(", ", metadata.GetProperty("inputs").EnumerateArray().Select(i =>
            $$"""
            "{{i.GetProperty("name").GetString()}}": {"shape": [{{rows}}, {{length}}], "datatype": "INT64", "data": [{{string.Join(",", Enumerable.Repeat("1", rows * length))}}]}
            """)) + "}";

        // 16 sequences of 512 tokens take far longer than 5 ms on these cores: the caller is answered at its deadline.
        var error = await ExpectErrorAsync(
            await _client.PostAsync("/inference/infer", Json($$$"""{"model_name": "demo-bert", "data": {{{Inputs(16, 512)}}}, "options": {"timeout": 0.005}}""")),
            HttpStatusCode.RequestTimeout, "TIMEOUT", "TimeoutError");
        Assert.Equal("INFERENCE_TIMEOUT", error.GetProperty("details").GetProperty("modelkit_code").GetString());
        Assert.Contains("did not complete within its timeout", error.GetProperty("message").GetString(), StringComparison.Ordinal);

        // The server stays up: the same request without the short timeout completes, and the stats count the timeout.
        await ExpectAsync(await _client.PostAsync("/inference/infer", Json($$"""{"model_name": "demo-bert", "data": {{Inputs(16, 512)}}}""")), HttpStatusCode.OK);
        var totals = (await _client.GetFromJsonAsync<JsonElement>("/inference/stats")).GetProperty("stats").GetProperty("totals");
        Assert.True(totals.GetProperty("timed_out").GetInt64() >= 1);
        Assert.True(totals.TryGetProperty("terminated", out _));
    }

    [Fact]
    public async Task LegacyCalls_InferFixedAndInferMultimodal()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        await _factory.WaitUntilRunningAsync(_client, "demo-bert");
        var fixedEngine = await ExpectAsync(await _client.PostAsync("/infer_fixed", Json($$"""{"task": "classification", "model_name": "demo-mlp", "data": {{Row}}}""")), HttpStatusCode.OK);
        Assert.Equal("onnxruntime", fixedEngine.GetProperty("engine").GetString());
        Assert.Equal(10, fixedEngine.GetProperty("result").GetProperty("outputs").GetProperty("logits").GetProperty("data").GetArrayLength());
        await ExpectErrorAsync(await _client.PostAsync("/infer_fixed", Json($$"""{"engine": "vllm", "model_name": "demo-mlp", "data": {{Row}}}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT", "UnsupportedEngineError");

        // Several named inputs under "inputs": demo-bert's token ids, mask and token types.
        var multimodal = await ExpectAsync(await _client.PostAsync("/infer_multimodal", Json($$"""{"model_name": "demo-bert", "inputs": {{BertInputs}}}""")), HttpStatusCode.OK);
        var hidden = multimodal.GetProperty("result").GetProperty("outputs").EnumerateObject().First().Value;
        Assert.Equal([1, 3], hidden.GetProperty("shape").EnumerateArray().Take(2).Select(d => d.GetInt32()));
        await ExpectErrorAsync(await _client.PostAsync("/infer_multimodal", Json("""{"model_name": "demo-bert", "inputs": [[101, 7, 102]]}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        await ExpectErrorAsync(await _client.PostAsync("/infer_multimodal", Json("""{"model_name": "demo-bert"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
    }

    [Fact]
    public async Task Batch_SummaryCountsEachItem_InOrder_SequentialOrParallel()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        foreach (var parallel in new[] { "false", "true" })
        {
            var batch = await ExpectAsync(await _client.PostAsync("/inference/batch", Json($$$"""
                {"requests": [
                  {"task": "classification", "engine": "onnxruntime", "model_name": "demo-mlp", "data": {{{Row}}}, "options": {}},
                  {"task": "text-generation", "model_name": "demo-mlp", "data": {{{Row}}}},
                  {"model_name": "ghost", "data": {{{Row}}}},
                  null,
                  {"model_id": "demo-mlp", "input_data": {{{Row}}}}
                ], "parallel": {{{parallel}}}}
                """)), HttpStatusCode.OK);
            Assert.True(batch.GetProperty("success").GetBoolean());
            Assert.Equal(parallel == "true", batch.GetProperty("parallel").GetBoolean());
            var items = batch.GetProperty("results").EnumerateArray().ToArray();
            Assert.Equal([0, 1, 2, 3, 4], items.Select(i => i.GetProperty("index").GetInt32()));
            Assert.Equal([true, false, false, false, true], items.Select(i => i.GetProperty("success").GetBoolean()));
            Assert.Equal([1, 10], items[0].GetProperty("result").GetProperty("outputs").GetProperty("logits").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            Assert.Equal(("UNSUPPORTED_TASK", "text-generation", "demo-mlp"), (items[1].GetProperty("code").GetString(), items[1].GetProperty("task").GetString(), items[1].GetProperty("model_name").GetString()));
            Assert.Contains("performs 'classification'", items[1].GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(("MODEL_NOT_FOUND", "ModelNotFoundError"), (items[2].GetProperty("code").GetString(), items[2].GetProperty("type").GetString()));
            Assert.Equal("INVALID_INPUT", items[3].GetProperty("code").GetString());

            var summary = batch.GetProperty("summary");
            Assert.Equal((5, 2, 3), (summary.GetProperty("total_requests").GetInt32(), summary.GetProperty("successful").GetInt32(), summary.GetProperty("failed").GetInt32()));
            Assert.Equal(0.4, summary.GetProperty("success_rate").GetDouble(), 9);
            var total = batch.GetProperty("total_processing_time").GetDouble();
            Assert.True(total > 0);
            Assert.Equal(total / 5, batch.GetProperty("average_time_per_request").GetDouble(), tolerance: 1e-6);
        }

        var tooMany = "{\"requests\": [" + string.Join(",", Enumerable.Repeat($$"""{"model_name": "demo-mlp", "data": {{Row}}}""", 101)) + "]}";
        await ExpectErrorAsync(await _client.PostAsync("/inference/batch", Json(tooMany)), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        await ExpectErrorAsync(await _client.PostAsync("/inference/batch", Json("""{"requests": []}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        await ExpectErrorAsync(await _client.PostAsync("/inference/batch", Json("""{"parallel": true}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
    }

    [Fact]
    public async Task AsyncJob_IsAcceptedPolledAndReturnsTheResult()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var accepted = await ExpectAsync(await _client.PostAsync("/inference/async", Json($$"""{"task": "classification", "model_name": "demo-mlp", "data": {{Row}}}""")), HttpStatusCode.Accepted);
        Assert.True(accepted.GetProperty("success").GetBoolean());
        var id = accepted.GetProperty("job_id").GetString()!;
        var statusUrl = accepted.GetProperty("status_url").GetString()!;
        Assert.EndsWith("/inference/async/" + id, statusUrl, StringComparison.Ordinal);

        JsonElement job;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            job = await _client.GetFromJsonAsync<JsonElement>(statusUrl);
            if (job.GetProperty("status").GetString() is "succeeded" or "failed") break;
            await Task.Delay(20);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Equal("succeeded", job.GetProperty("status").GetString());
        Assert.Equal([1, 10], job.GetProperty("result").GetProperty("outputs").GetProperty("logits").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.True(job.GetProperty("processing_time").GetDouble() > 0);
        Assert.True(job.GetProperty("completed_at").GetDouble() >= job.GetProperty("created_at").GetDouble());
        Assert.Equal("succeeded", (await ExpectAsync(await _client.DeleteAsync(statusUrl), HttpStatusCode.OK)).GetProperty("status").GetString()); // finished: stays

        await ExpectErrorAsync(await _client.GetAsync("/inference/async/job-unknown"), HttpStatusCode.NotFound, "JOB_NOT_FOUND", "JobNotFoundError");
        await ExpectErrorAsync(await _client.PostAsync("/inference/async", Json($$"""{"model_name": "ghost", "data": {{Row}}}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND", "ModelNotFoundError");
        await ExpectErrorAsync(await _client.PostAsync("/inference/async", Json("""{"model_name": "demo-mlp", "data": [[1, 2]]}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        await ExpectErrorAsync(await _client.PostAsync("/inference/async", Json($$"""{"engine": "ollama", "model_name": "demo-mlp", "data": {{Row}}}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT", "UnsupportedEngineError");
    }

    [Fact]
    public async Task CacheEndpoints_ListResizeRemoveAndPreload()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        await _factory.WaitUntilRunningAsync(_client, "demo-bert");
        var models = await ExpectAsync(await _client.GetAsync("/inference/cache/models"), HttpStatusCode.OK);
        var entries = models.GetProperty("models").EnumerateArray().ToArray();
        Assert.Equal(entries.Length, models.GetProperty("count").GetInt32());
        var mlp = entries.Single(m => m.GetProperty("cache_key").GetString() == "demo-mlp:1@cpu");
        Assert.Equal(("onnxruntime:demo-mlp", "onnxruntime", "demo-mlp", "1", "cpu"),
            (mlp.GetProperty("key").GetString(), mlp.GetProperty("engine").GetString(), mlp.GetProperty("model_name").GetString(), mlp.GetProperty("version").GetString(), mlp.GetProperty("device").GetString()));
        Assert.True(mlp.GetProperty("memory_bytes").GetInt64() > 0);
        Assert.True(mlp.GetProperty("last_access").GetDouble() >= mlp.GetProperty("load_time").GetDouble());
        Assert.All(entries, m => Assert.True(m.GetProperty("pinned").GetBoolean())); // deployed with min replicas 1

        // Clearing keeps pinned (deployed) models.
        var cleared = await ExpectAsync(await _client.PostAsync("/inference/clear-cache", null), HttpStatusCode.OK);
        Assert.Equal(0, cleared.GetProperty("removed").GetInt32());

        var stats = (await ExpectAsync(await _client.GetAsync("/inference/cache/stats"), HttpStatusCode.OK)).GetProperty("stats");
        Assert.True(stats.GetProperty("cached_models").GetInt32() >= 2);
        Assert.True(stats.GetProperty("memory_bytes").GetInt64() > 0);
        Assert.Contains("demo-mlp", stats.GetProperty("model_access").EnumerateArray().Select(m => m.GetProperty("model_name").GetString()));

        // The limits: in a JSON body (ModelKit's form) or in the query string (the seed's); the query wins over the body.
        var resized = await ExpectAsync(await _client.PutAsync("/inference/cache/config", Json("""{"max_cache_size": 12, "max_memory_gb": 2}""")), HttpStatusCode.OK);
        var config = resized.GetProperty("current_config");
        Assert.Equal((12, 2.0, 2L << 30), (config.GetProperty("max_cache_size").GetInt32(), config.GetProperty("max_memory_gb").GetDouble(), config.GetProperty("memory_limit_bytes").GetInt64()));
        Assert.Empty(resized.GetProperty("evicted").EnumerateArray());
        resized = await ExpectAsync(await _client.PutAsync("/inference/cache/config?max_cache_size=9", Json("""{"max_cache_size": 3, "max_memory_gb": 3}""")), HttpStatusCode.OK);
        Assert.Equal((9, 3.0), (resized.GetProperty("current_config").GetProperty("max_cache_size").GetInt32(), resized.GetProperty("current_config").GetProperty("max_memory_gb").GetDouble()));
        foreach (var bad in new[] { "max_cache_size=0", "max_cache_size=21", "max_memory_gb=0.5", "max_memory_gb=101", "max_memory_gb=NaN", "max_memory_gb=1e-300", "max_cache_size=abc", "max_memory_gb=Infinity" })
        {
            await ExpectErrorAsync(await _client.PutAsync("/inference/cache/config?" + bad, null), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        }

        await ExpectErrorAsync(await _client.PutAsync("/inference/cache/config", Json("""{"max_cache_size": 0}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        await ExpectErrorAsync(await _client.PutAsync("/inference/cache/config", Json("""{}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        await ExpectErrorAsync(await _client.PutAsync("/inference/cache/config", null), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");

        // An unknown key is 200 with success false (the seed's answer); onnxruntime:<model> removes all its entries.
        foreach (var unknown in new[] { "onnxruntime:ghost", "ghost:1@cpu", "nonsense" })
        {
            var notCached = await ExpectAsync(await _client.DeleteAsync("/inference/cache/models/" + unknown), HttpStatusCode.OK);
            Assert.False(notCached.GetProperty("success").GetBoolean());
            Assert.Contains("is not in the cache", notCached.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        var removed = await ExpectAsync(await _client.DeleteAsync("/inference/cache/models/onnxruntime:demo-bert"), HttpStatusCode.OK);
        Assert.True(removed.GetProperty("success").GetBoolean());
        Assert.Equal(["demo-bert:1@cpu"], removed.GetProperty("removed").EnumerateArray().Select(k => k.GetString()));
        var after = (await _client.GetFromJsonAsync<JsonElement>("/inference/cache/models")).GetProperty("models").EnumerateArray().Select(m => m.GetProperty("cache_key").GetString());
        Assert.DoesNotContain("demo-bert:1@cpu", after);

        var preloaded = await ExpectAsync(await _client.PostAsync("/inference/models/preload", Json("""{"model_name": "demo-bert", "engine": "onnxruntime"}""")), HttpStatusCode.OK);
        var loaded = Assert.Single(preloaded.GetProperty("loaded").EnumerateArray());
        Assert.Equal(("onnxruntime:demo-bert", "demo-bert:1@cpu"), (loaded.GetProperty("key").GetString(), loaded.GetProperty("cache_key").GetString()));
        Assert.Contains("demo-bert:1@cpu", (await _client.GetFromJsonAsync<JsonElement>("/inference/cache/models")).GetProperty("models").EnumerateArray().Select(m => m.GetProperty("cache_key").GetString()));
        var exact = await ExpectAsync(await _client.DeleteAsync("/inference/cache/models/demo-bert:1@cpu"), HttpStatusCode.OK);
        Assert.True(exact.GetProperty("success").GetBoolean());
        await ExpectAsync(await _client.PostAsync("/inference/models/preload", Json("""{"models": ["demo-bert", "demo-mlp"]}""")), HttpStatusCode.OK);
        await ExpectErrorAsync(await _client.PostAsync("/inference/models/preload", Json("""{"model_name": "ghost"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND", "ModelNotFoundError");
        await ExpectErrorAsync(await _client.PostAsync("/inference/models/preload", Json("""{"model_name": "demo-bert", "engine": "ollama"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT", "UnsupportedEngineError");
    }

    [Fact]
    public async Task TasksAndStats_DescribeWhatIsServed_WithRealNumbers()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        await ExpectAsync(await _client.PostAsync("/inference/infer", Json($$"""{"model_name": "demo-mlp", "data": {{Row}}}""")), HttpStatusCode.OK);
        var tasks = await ExpectAsync(await _client.GetAsync("/inference/supported-tasks"), HttpStatusCode.OK);
        Assert.Equal(tasks.GetProperty("tasks").GetArrayLength(), tasks.GetProperty("count").GetInt32());
        var classification = tasks.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("task").GetString() == "classification");
        Assert.Contains("demo-mlp", classification.GetProperty("models").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal(["onnxruntime"], classification.GetProperty("engines").EnumerateArray().Select(e => e.GetString()));

        var stats = (await ExpectAsync(await _client.GetAsync("/inference/stats"), HttpStatusCode.OK)).GetProperty("stats");
        Assert.True(stats.GetProperty("queues").GetProperty("demo-mlp").GetProperty("succeeded").GetInt64() >= 1);
        Assert.True(stats.GetProperty("totals").GetProperty("requests").GetInt64() >= 1);
        Assert.True(stats.GetProperty("cache").GetProperty("models").GetInt32() >= 1);
        Assert.Equal(["queued", "running", "succeeded", "failed", "cancelled"], stats.GetProperty("jobs").EnumerateObject().Select(p => p.Name));
        var latency = stats.GetProperty("latency");
        Assert.True(latency.GetProperty("count").GetInt64() >= 1);
        var (min, mean, p50, max) = (latency.GetProperty("min_ms").GetDouble(), latency.GetProperty("average_ms").GetDouble(), latency.GetProperty("p50_ms").GetDouble(), latency.GetProperty("max_ms").GetDouble());
        Assert.True(min > 0 && min <= mean && mean <= max && min <= p50 && p50 <= max, latency.GetRawText());
    }

    [Fact]
    public async Task Examples_AreBuiltFromTheServedModels_AndEachWorks()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        await _factory.WaitUntilRunningAsync(_client, "demo-bert");
        var examples = (await ExpectAsync(await _client.GetAsync("/inference/examples"), HttpStatusCode.OK)).GetProperty("examples").EnumerateArray().ToArray();
        Assert.Contains("infer demo-mlp", examples.Select(e => e.GetProperty("name").GetString()));
        Assert.Contains("infer_multimodal demo-bert", examples.Select(e => e.GetProperty("name").GetString()));
        Assert.Contains("batch", examples.Select(e => e.GetProperty("name").GetString()));
        var bert = examples.Single(e => e.GetProperty("name").GetString() == "infer demo-bert").GetProperty("body").GetProperty("data");
        Assert.Equal(["attention_mask", "input_ids", "token_type_ids"], bert.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal([1], bert.GetProperty("attention_mask").GetProperty("data").EnumerateArray().Select(v => v.GetInt32()).Distinct()); // nothing masked out
        foreach (var example in examples)
        {
            Assert.Equal("POST", example.GetProperty("method").GetString());
            var response = await _client.PostAsync(example.GetProperty("path").GetString(), Json(example.GetProperty("body").GetRawText()));
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.IsSuccessStatusCode, $"{example.GetProperty("name").GetString()}: {(int)response.StatusCode} {text}");
            if (example.GetProperty("name").GetString() == "batch") Assert.Equal(2, JsonDocument.Parse(text).RootElement.GetProperty("summary").GetProperty("successful").GetInt32());
        }
    }

    [Fact]
    public async Task Stream_IsAWebSocketBehindTheSurfacesKey_WithTheSeedsErrors()
    {
        // Not an upgrade request: 400 in the seed's shape; without a key: 401 before any socket.
        await ExpectErrorAsync(await _client.GetAsync("/inference/stream"), HttpStatusCode.BadRequest, "INVALID_INPUT", "InvalidInputError");
        var anonymous = _factory.Server.CreateWebSocketClient();
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => anonymous.ConnectAsync(new Uri(_factory.Server.BaseAddress, "inference/stream"), CancellationToken.None));

        var client = _factory.Server.CreateWebSocketClient();
        client.ConfigureRequest = request => request.Headers["X-API-Key"] = SampleServerFactory.AdminKey;
        using var socket = await client.ConnectAsync(new Uri(_factory.Server.BaseAddress, "inference/stream"), CancellationToken.None);
        await socket.SendAsync(System.Text.Encoding.UTF8.GetBytes("""{"id": "m", "model_name": "demo-mlp", "data": {"prompt": "x"}}"""),
            System.Net.WebSockets.WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
        var buffer = new byte[8192];
        var received = await socket.ReceiveAsync(buffer, CancellationToken.None);
        var error = JsonDocument.Parse(buffer.AsMemory(0, received.Count)).RootElement;
        Assert.Equal(("error", "m", "UNSUPPORTED_TASK"), (error.GetProperty("type").GetString(), error.GetProperty("id").GetString(), error.GetProperty("error").GetProperty("code").GetString()));
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    [Theory]
    [InlineData("/inference/dashboard", "issue 16")]
    public async Task NotBuiltYet_Is501NotImplemented(string path, string issue)
    {
        var error = await ExpectErrorAsync(await _client.GetAsync(path), HttpStatusCode.NotImplemented, "NOT_IMPLEMENTED", "NotImplementedError");
        Assert.Contains(issue, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
