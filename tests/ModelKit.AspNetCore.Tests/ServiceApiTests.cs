using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>Seed 003's service endpoints through HTTP: async jobs, tasks, statistics, cache management, preload.</summary>
public sealed class ServiceApiTests : IClassFixture<SampleServerFactory>
{
    private static readonly string Row = JsonSerializer.Serialize(new[] { Enumerable.Range(0, 64).Select(i => i * 0.01f).ToArray() });
    private readonly SampleServerFactory _factory;
    private readonly HttpClient _client;

    public ServiceApiTests(SampleServerFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    [Fact]
    public async Task AsyncJob_IsAcceptedPolledAndReturnsTheResult()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var accepted = await ExpectAsync(await _client.PostAsync("/inference/async", Json($$"""{"model_id": "demo-mlp", "input_data": {{Row}}}""")), HttpStatusCode.Accepted);
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
        Assert.Equal([1, 10], job.GetProperty("result").GetProperty("output_data").GetProperty("logits").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal("succeeded", (await ExpectAsync(await _client.DeleteAsync(statusUrl), HttpStatusCode.OK)).GetProperty("status").GetString()); // finished: stays

        await ExpectAsync(await _client.GetAsync("/inference/async/job-unknown"), HttpStatusCode.NotFound, "JOB_NOT_FOUND");
        await ExpectAsync(await _client.PostAsync("/inference/async", Json($$"""{"model_id": "ghost", "input_data": {{Row}}}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ExpectAsync(await _client.PostAsync("/inference/async", Json("""{"model_id": "demo-mlp", "input_data": [[1, 2]]}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
    }

    [Fact]
    public async Task Timeout_RunPastItGets408InferenceTimeout_AndTheServerStaysUp()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-bert");
        var metadata = await _client.GetFromJsonAsync<JsonElement>("/v2/models/demo-bert");
        string Inputs(int rows, int length) => "{" + string.Join(", ", metadata.GetProperty("inputs").EnumerateArray().Select(i =>
            $$"""
            "{{i.GetProperty("name").GetString()}}": {"shape": [{{rows}}, {{length}}], "datatype": "INT64", "data": [{{string.Join(",", Enumerable.Repeat("1", rows * length))}}]}
            """)) + "}";

        // 16 sequences of 512 tokens take far longer than 5 ms on these cores: the caller is answered at its deadline.
        var problem = await ExpectAsync(
            await _client.PostAsync("/api/v1/models/demo-bert/inference", Json($$"""{"input_data": {{Inputs(16, 512)}}, "timeout": 0.005}""")),
            HttpStatusCode.RequestTimeout, "INFERENCE_TIMEOUT");
        Assert.Contains("did not complete within its timeout", problem.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        // The server stays up: the same request without the short timeout completes. (That the abandoned run is stopped
        // in ONNX Runtime is shown deterministically by ServingCoreTests; the stats report it as "terminated".)
        await ExpectAsync(await _client.PostAsync("/api/v1/models/demo-bert/inference", Json($$"""{"input_data": {{Inputs(16, 512)}}}""")), HttpStatusCode.OK);
        var totals = (await _client.GetFromJsonAsync<JsonElement>("/inference/stats")).GetProperty("totals");
        Assert.True(totals.GetProperty("timed_out").GetInt64() >= 1);
        Assert.True(totals.TryGetProperty("terminated", out _));
    }

    [Fact]
    public async Task CacheEndpoints_ListResizeRemoveAndPreload()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        await _factory.WaitUntilRunningAsync(_client, "demo-bert");
        var models = await _client.GetFromJsonAsync<JsonElement>("/inference/cache/models");
        var keys = models.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("key").GetString()).ToArray();
        Assert.Contains("demo-mlp:1@cpu", keys);
        Assert.All(models.GetProperty("models").EnumerateArray(), m => Assert.True(m.GetProperty("pinned").GetBoolean())); // deployed with min replicas 1

        // Clearing keeps pinned (deployed) models.
        var cleared = await ExpectAsync(await _client.PostAsync("/inference/clear-cache", null), HttpStatusCode.OK);
        Assert.Equal(0, cleared.GetProperty("removed").GetInt32());

        var stats = await _client.GetFromJsonAsync<JsonElement>("/inference/cache/stats");
        Assert.True(stats.GetProperty("models").GetInt32() >= 2);
        Assert.True(stats.GetProperty("memory_bytes").GetInt64() > 0);
        var resized = await ExpectAsync(await _client.PutAsync("/inference/cache/config", Json("""{"max_cache_size": 12, "max_memory_gb": 2}""")), HttpStatusCode.OK);
        Assert.Equal((12, 2L << 30), (resized.GetProperty("max_models").GetInt32(), resized.GetProperty("memory_limit_bytes").GetInt64()));
        await ExpectAsync(await _client.PutAsync("/inference/cache/config", Json("""{"max_cache_size": 0}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await _client.PutAsync("/inference/cache/config", Json("""{}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");

        await ExpectAsync(await _client.DeleteAsync("/inference/cache/models/ghost:1@cpu"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ExpectAsync(await _client.DeleteAsync("/inference/cache/models/nonsense"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        var removed = await ExpectAsync(await _client.DeleteAsync("/inference/cache/models/demo-bert:1@cpu"), HttpStatusCode.OK);
        Assert.Equal("demo-bert:1@cpu", removed.GetProperty("key").GetString());
        var after = (await _client.GetFromJsonAsync<JsonElement>("/inference/cache/models")).GetProperty("models").EnumerateArray().Select(m => m.GetProperty("key").GetString());
        Assert.DoesNotContain("demo-bert:1@cpu", after);

        var preloaded = await ExpectAsync(await _client.PostAsync("/inference/models/preload", Json("""{"model_id": "demo-bert"}""")), HttpStatusCode.OK);
        Assert.Equal(["demo-bert:1@cpu"], preloaded.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        Assert.Contains("demo-bert:1@cpu", (await _client.GetFromJsonAsync<JsonElement>("/inference/cache/models")).GetProperty("models").EnumerateArray().Select(m => m.GetProperty("key").GetString()));
        await ExpectAsync(await _client.PostAsync("/inference/models/preload", Json("""{"model_id": "ghost"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
    }

    [Fact]
    public async Task TasksAndStats_DescribeWhatIsServed()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        await ExpectAsync(await _client.PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{Row}}}""")), HttpStatusCode.OK);
        var tasks = await _client.GetFromJsonAsync<JsonElement>("/inference/supported-tasks");
        var classification = tasks.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("task").GetString() == "classification");
        Assert.Contains("demo-mlp", classification.GetProperty("models").EnumerateArray().Select(m => m.GetString()));

        var stats = await _client.GetFromJsonAsync<JsonElement>("/inference/stats");
        Assert.True(stats.GetProperty("queues").GetProperty("demo-mlp").GetProperty("succeeded").GetInt64() >= 1);
        Assert.True(stats.GetProperty("totals").GetProperty("requests").GetInt64() >= 1);
        Assert.True(stats.GetProperty("cache").GetProperty("models").GetInt32() >= 1);
    }
}
