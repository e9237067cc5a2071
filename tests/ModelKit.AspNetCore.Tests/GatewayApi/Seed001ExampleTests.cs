using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.GatewayApi;

/// <summary>
/// Every example request of seed 001 (docs: /work/shared/seeds/001-gateway-api.md), sent as written, with the seed's
/// <c>Authorization: Bearer {token}</c>, against the sample server on a real socket; model ids adjusted where the seed's
/// ids are hosted models ModelKit does not have. Each answer is checked against the document's shape.
/// </summary>
public sealed class Seed001ExampleTests : IClassFixture<KestrelSampleServerFactory>
{
    private readonly KestrelSampleServerFactory _factory;
    private readonly HttpClient _client;

    public Seed001ExampleTests(KestrelSampleServerFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
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

    [Fact]
    public async Task GetModels_ListsTheAvailableModels()
    {
        // GET /models → success: every registered model, each with the documented fields.
        await _factory.WaitUntilRunningAsync(_factory.CreateClient(), "demo-bert");
        var models = (await DataAsync(await _client.GetAsync("/models"))).GetProperty("models");
        var bert = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == "demo-bert");
        foreach (var field in new[] { "id", "name", "version", "capabilities", "provider", "status", "deployment" }) Assert.True(bert.TryGetProperty(field, out _), field);
        Assert.Equal(("local", "active", "1"), (bert.GetProperty("provider").GetString(), bert.GetProperty("status").GetString(), bert.GetProperty("version").GetString()));
        Assert.Contains("embedding", bert.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
        var deployment = bert.GetProperty("deployment");
        Assert.Equal("local", deployment.GetProperty("type").GetString());
        Assert.Equal(ModelKit.Diagnostics.SystemMonitor.CpuModelName ?? "cpu", deployment.GetProperty("hardware").GetString());
        Assert.False(deployment.TryGetProperty("quantization", out _)); // not known: left out, never made up
        var mlp = models.EnumerateArray().Single(m => m.GetProperty("id").GetString() == "demo-mlp");
        Assert.Equal(["classification", "inference"], mlp.GetProperty("capabilities").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task GetModel_AddsMeasuredStats()
    {
        // GET /models/{model_id} with gpt-4 → demo-mlp (ModelKit has no gpt-4): success, stats measured on its queues.
        await _factory.WaitUntilRunningAsync(_factory.CreateClient(), "demo-mlp");
        var row = JsonSerializer.Serialize(new[] { new float[64] });
        for (var i = 0; i < 2; i++) await ExpectAsync(await _client.PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{row}}}""")), HttpStatusCode.OK);
        var model = await DataAsync(await _client.GetAsync("/models/demo-mlp"));
        Assert.Equal(("demo-mlp", "local"), (model.GetProperty("id").GetString(), model.GetProperty("provider").GetString()));
        var stats = model.GetProperty("stats");
        Assert.True(stats.GetProperty("average_latency_ms").GetDouble() > 0);
        Assert.Equal(1.0, stats.GetProperty("availability").GetDouble());
        Assert.True(stats.GetProperty("succeeded_requests").GetInt64() >= 2);
        Assert.False(model.TryGetProperty("pricing", out _)); // a self-hosted model has no price
        Assert.False(model.TryGetProperty("parameters", out _)); // generation settings arrive with issue 11

        // gpt-4 itself: MODEL_NOT_FOUND in the envelope (code 404, data null, the code beside it).
        var missing = await ExpectAsync(await _client.GetAsync("/models/gpt-4"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        Assert.Equal((404, JsonValueKind.Null), (missing.GetProperty("code").GetInt32(), missing.GetProperty("data").ValueKind));
    }

    [Fact]
    public async Task TextEndpoints_OnModelsThatAreNotDecoders_AnswerUnsupportedTask()
    {
        // The seed's examples run on a decoder in GatewayGenerationTests; here they reach models that cannot generate text.
        // POST /models/{model_id}/completions (gpt-4 → demo-mlp, an MLP): 400 UNSUPPORTED_TASK.
        await ExpectAsync(await _client.PostAsync("/models/demo-mlp/completions", Json("""
            {
              "prompt": "string",
              "max_tokens": 100,
              "temperature": 1.0,
              "top_p": 1.0,
              "n": 1,
              "stream": false,
              "stop": ["\n", "user:"]
            }
            """)), HttpStatusCode.BadRequest, "UNSUPPORTED_TASK");
        // POST /models/{model_id}/chat/completions: the same.
        await ExpectAsync(await _client.PostAsync("/models/demo-mlp/chat/completions", Json("""
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
              "max_tokens": 500,
              "temperature": 0.7,
              "stream": false
            }
            """)), HttpStatusCode.BadRequest, "UNSUPPORTED_TASK");
        // POST /models/{model_id}/embeddings: served by text encoders (the example runs on all-MiniLM-L6-v2 in
        // EmbeddingsApiTests); the generated demo-bert has no tokenizer, so it cannot embed text: 400 UNSUPPORTED_TASK.
        await ExpectAsync(await _client.PostAsync("/models/demo-bert/embeddings", Json("""
            {
              "input": ["这是第一段文本", "这是第二段文本"],
              "encoding_format": "float"
            }
            """)), HttpStatusCode.BadRequest, "UNSUPPORTED_TASK");
        // The seed's own ids: those models are not here, MODEL_NOT_FOUND before anything else.
        await ExpectAsync(await _client.PostAsync("/models/gpt-4/completions", Json("""{"prompt": "string"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
    }

    [Fact]
    public async Task LocalModels_DeployFollowAndUnload()
    {
        // The seed deploys model_type deepseek-v3 + model_size 7b: a small generated stand-in is registered under that id.
        using (var stream = new MemoryStream(DemoModels.CreateMlp(new MlpSpec { Seed = 7 })))
        {
            await _factory.Services.GetRequiredService<IModelRegistry>().RegisterAsync(
                new ModelDefinition { Id = "deepseek-v3-7b", Name = "DeepSeek V3 7B stand-in (generated MLP)" }, stream, "m.onnx");
        }

        // POST /models/local/deploy as written → success: in_progress (or completed), the model id from type and size, a progress_url.
        var accepted = await DataAsync(await _client.PostAsync("/models/local/deploy", Json("""
            {
              "model_type": "deepseek-v3",
              "model_size": "7b",
              "quantization": "int8",
              "target_nodes": ["worker-03"],
              "deployment_config": {
                "max_batch_size": 8,
                "use_flash_attention": true,
                "use_kv_cache": true,
                "tensor_parallel_size": 1,
                "cpu_offload": false
              }
            }
            """)));
        var deploymentId = accepted.GetProperty("deployment_id").GetString()!;
        Assert.Equal("deepseek-v3-7b", accepted.GetProperty("model_id").GetString());
        Assert.Contains(accepted.GetProperty("status").GetString(), new[] { "in_progress", "completed" }); // a small model can be up already
        Assert.Equal($"/models/local/deployments/{deploymentId}", accepted.GetProperty("progress_url").GetString());
        var notes = accepted.GetProperty("notes").EnumerateArray().Select(n => n.GetString()!).ToArray();
        Assert.Equal(3, notes.Length); // quantization, target_nodes, the LLM engine settings: one note each
        foreach (var field in new[] { "quantization 'int8' is not applied", "target_nodes is not applied", "use_flash_attention, use_kv_cache, tensor_parallel_size and cpu_offload are not applied" })
        {
            Assert.Single(notes, n => n.StartsWith(field, StringComparison.Ordinal));
        }

        // GET /models/local/deployments/{deployment_id} → success: progress, current stage, stages, logs.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement progress;
        do
        {
            progress = await DataAsync(await _client.GetAsync($"/models/local/deployments/{deploymentId}"));
            foreach (var field in new[] { "deployment_id", "model_id", "status", "progress", "stages", "logs" }) Assert.True(progress.TryGetProperty(field, out _), field);
            Assert.True(DateTime.UtcNow < deadline, progress.ToString());
        }
        while (progress.GetProperty("status").GetString() != "completed");
        Assert.Contains(progress.GetProperty("stages").EnumerateArray(), s => s.GetProperty("name").GetString() == "service_registration");
        var line = progress.GetProperty("logs")[0];
        Assert.Equal("info", line.GetProperty("level").GetString());
        Assert.True(line.GetProperty("timestamp").TryGetDateTimeOffset(out _));

        // GET /models/local → success: the deployed model with node, hardware, memory, health, performance.
        var local = (await DataAsync(await _client.GetAsync("/models/local"))).GetProperty("models");
        var model = local.EnumerateArray().Single(m => m.GetProperty("id").GetString() == "deepseek-v3-7b");
        Assert.Equal("active", model.GetProperty("status").GetString());
        var deployment = model.GetProperty("deployment");
        foreach (var field in new[] { "node_id", "hardware", "memory_usage", "loaded_at", "health" }) Assert.True(deployment.TryGetProperty(field, out _), field);
        Assert.Equal(8, model.GetProperty("performance").GetProperty("max_batch_size").GetInt32());

        // DELETE /models/local/{model_id} (deepseek-v3-7b, as in the seed) → success: the model, its status, its node.
        var unloaded = await DataAsync(await _client.DeleteAsync("/models/local/deepseek-v3-7b"));
        Assert.Equal(("deepseek-v3-7b", "unloaded"), (unloaded.GetProperty("model_id").GetString(), unloaded.GetProperty("status").GetString()));
        Assert.Equal(1, unloaded.GetProperty("nodes").GetArrayLength());
    }
}
