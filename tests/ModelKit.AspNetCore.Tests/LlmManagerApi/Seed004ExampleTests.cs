using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.LlmManagerApi;

/// <summary>
/// Every endpoint and example request of seed 004 (docs: /work/shared/seeds/004-llm-manager-api.md), sent as written
/// against the sample server on a real socket (with an API key: auth is on by default). The seed's example model
/// <c>microsoft/DialoGPT-medium</c> is a chat model ModelKit cannot run before text generation (issue 11); a small generated
/// stand-in is registered under its id so that the catalogue and deployment examples run verbatim.
/// </summary>
public sealed class Seed004ExampleTests : IClassFixture<KestrelSampleServerFactory>
{
    private const string DialoGpt = "microsoft/DialoGPT-medium";
    private readonly KestrelSampleServerFactory _factory;
    private readonly HttpClient _client;

    public Seed004ExampleTests(KestrelSampleServerFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    private async Task RegisterStandInAsync()
    {
        var registry = _factory.Services.GetRequiredService<IModelRegistry>();
        if (await registry.FindModelAsync(DialoGpt) is not null) return;
        using var stream = new MemoryStream(DemoModels.CreateMlp(new MlpSpec { Seed = 17 }));
        try
        {
            await registry.RegisterAsync(new ModelDefinition
            {
                Id = DialoGpt, Name = "DialoGPT Medium", Description = "Stand-in (generated MLP) under the seed's example id", Task = "conversational", Tags = ["conversational", "stand-in"],
            }, stream, "model.onnx");
        }
        catch (ModelAlreadyExistsException)
        {
            // Registered by a test running beside this one.
        }
    }

    // The envelope: success, message, data, code (the HTTP status), timestamp.
    private static async Task<JsonElement> DataAsync(HttpResponseMessage response)
    {
        var json = await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal((true, 200), (json.GetProperty("success").GetBoolean(), json.GetProperty("code").GetInt32()));
        Assert.True(json.GetProperty("timestamp").TryGetDateTimeOffset(out _));
        Assert.Equal(JsonValueKind.String, json.GetProperty("message").ValueKind);
        return json.GetProperty("data");
    }

    // The error shape: success false, message, error (the code), timestamp.
    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var json = await ExpectAsync(response, status, code);
        Assert.False(json.GetProperty("success").GetBoolean());
        Assert.Equal(code, json.GetProperty("error").GetString());
        Assert.True(json.GetProperty("timestamp").TryGetDateTimeOffset(out _));
        Assert.False(string.IsNullOrEmpty(json.GetProperty("message").GetString()));
        return json;
    }

    [Fact]
    public async Task System_HealthResourcesLoad()
    {
        // 1.1 GET /health → success: the bare object {status, service, version} the seed shows.
        var health = await ExpectAsync(await _client.GetAsync("/health"), HttpStatusCode.OK);
        foreach (var field in new[] { "status", "service", "version" }) Assert.Equal(JsonValueKind.String, health.GetProperty(field).ValueKind);
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        // 1.2 GET /api/health → success: {status, api_version, service}.
        var api = await ExpectAsync(await _client.GetAsync("/api/health"), HttpStatusCode.OK);
        Assert.Equal(("healthy", "v1"), (api.GetProperty("status").GetString(), api.GetProperty("api_version").GetString()));
        Assert.Equal(JsonValueKind.String, api.GetProperty("service").ValueKind);
        // 1.3 GET /api/system/resources → success: cpu {usage_percent, cores}, memory and disk in GB.
        var resources = await DataAsync(await _client.GetAsync("/api/system/resources"));
        Assert.Equal(Environment.ProcessorCount, resources.GetProperty("cpu").GetProperty("cores").GetInt32());
        Assert.Equal(JsonValueKind.Number, resources.GetProperty("cpu").GetProperty("usage_percent").ValueKind);
        foreach (var field in new[] { "total_gb", "used_gb", "available_gb", "usage_percent" }) Assert.Equal(JsonValueKind.Number, resources.GetProperty("memory").GetProperty(field).ValueKind);
        foreach (var field in new[] { "total_gb", "used_gb", "free_gb", "usage_percent" }) Assert.Equal(JsonValueKind.Number, resources.GetProperty("disk").GetProperty(field).ValueKind);
        // 1.4 GET /api/system/load and 1.5 GET /api/system/health (no example body) → success.
        Assert.Equal(JsonValueKind.Object, (await DataAsync(await _client.GetAsync("/api/system/load"))).GetProperty("inference").ValueKind);
        Assert.Equal("healthy", (await DataAsync(await _client.GetAsync("/api/system/health"))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Models_SearchInfoCategoriesTrendingStatsFavoriteSync()
    {
        await RegisterStandInAsync();
        // 2.1 GET /api/models/search with the documented parameters and source=huggingface: this server's hub cannot be
        // reached (no test reaches the internet), so the local catalogue answers, and the message says so
        // (DownloadsApiTests searches a real local hub).
        var hub = await ExpectAsync(await _client.GetAsync("/api/models/search?query=DialoGPT&source=huggingface&model_type=conversational&page=1&page_size=20"), HttpStatusCode.OK);
        Assert.Contains("could not be searched", hub.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("local", Assert.Single(hub.GetProperty("data").GetProperty("items").EnumerateArray()).GetProperty("source").GetString());
        // … source=ollama is no source of ModelKit's: the seed's INVALID_SOURCE.
        await ErrorAsync(await _client.GetAsync("/api/models/search?query=DialoGPT&source=ollama"), HttpStatusCode.BadRequest, "INVALID_SOURCE");
        // … the same search of the local registry → success: items in the seed's fields and its pagination.
        var search = await DataAsync(await _client.GetAsync("/api/models/search?query=DialoGPT&source=local&model_type=conversational&page=1&page_size=20"));
        var item = Assert.Single(search.GetProperty("items").EnumerateArray());
        Assert.Equal((DialoGpt, "DialoGPT Medium", "conversational", "local"),
            (item.GetProperty("id").GetString(), item.GetProperty("name").GetString(), item.GetProperty("model_type").GetString(), item.GetProperty("source").GetString()));
        Assert.Equal(["conversational", "stand-in"], item.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        var pagination = search.GetProperty("pagination");
        foreach (var field in new[] { "page", "page_size", "total", "total_pages" }) Assert.Equal(JsonValueKind.Number, pagination.GetProperty(field).ValueKind);
        Assert.False(pagination.GetProperty("has_next").GetBoolean());
        Assert.False(pagination.GetProperty("has_prev").GetBoolean());

        // 2.2 GET /api/models/{model_id}/info with microsoft/DialoGPT-medium (its slash as written) → success.
        var info = await DataAsync(await _client.GetAsync("/api/models/microsoft/DialoGPT-medium/info"));
        Assert.Equal(DialoGpt, info.GetProperty("id").GetString());
        foreach (var field in new[] { "name", "description", "model_type", "source", "size_gb", "tags", "created_at", "updated_at" }) Assert.True(info.TryGetProperty(field, out _), field);

        // 2.3 GET /api/models/categories (?source optional) → success.
        var categories = await DataAsync(await _client.GetAsync("/api/models/categories"));
        Assert.Contains(categories.GetProperty("categories").EnumerateArray(), c => c.GetProperty("name").GetString() == "conversational");
        // 2.4 GET /api/models/trending?limit=10 (max 50) → success; 51 is INVALID_INPUT.
        Assert.Equal(JsonValueKind.Array, (await DataAsync(await _client.GetAsync("/api/models/trending?limit=10"))).GetProperty("models").ValueKind);
        await ErrorAsync(await _client.GetAsync("/api/models/trending?limit=51"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        // 2.5 GET /api/models/stats → success.
        Assert.True((await DataAsync(await _client.GetAsync("/api/models/stats"))).GetProperty("total_models").GetInt32() >= 3);
        // 2.6 POST and 2.7 DELETE /api/models/{model_id}/favorite → success.
        Assert.True((await DataAsync(await _client.PostAsync("/api/models/microsoft/DialoGPT-medium/favorite", null))).GetProperty("favorite").GetBoolean());
        Assert.False((await DataAsync(await _client.DeleteAsync("/api/models/microsoft/DialoGPT-medium/favorite"))).GetProperty("favorite").GetBoolean());
        // 2.8 POST /api/models/sync as written (no body) → success: this registry holds no model downloaded from a hub, so
        // nothing is synced (DownloadsApiTests syncs a downloaded one).
        var sync = await DataAsync(await _client.PostAsync("/api/models/sync", null));
        Assert.Equal((0, 0), (sync.GetProperty("synced").GetInt32(), sync.GetProperty("failed").GetInt32()));
    }

    [Fact]
    public async Task Downloads_WithoutAReachableHub_AnswerTheSeedsErrors()
    {
        // 3.1 POST /api/downloads/start with the seed's body: this server's hub cannot be reached → 502 SOURCE_UNAVAILABLE
        // (DownloadsApiTests runs the same body against a local hub, and every other download endpoint).
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""
            {
              "model_id": "microsoft/DialoGPT-medium",
              "source": "huggingface"
            }
            """)), HttpStatusCode.BadGateway, "SOURCE_UNAVAILABLE");
        // 3.2–3.4 PUT pause/resume/cancel, 3.5 GET, 3.6 DELETE /api/downloads/{task_id} of the seed's example id → TASK_NOT_FOUND.
        foreach (var action in new[] { "pause", "resume", "cancel" })
        {
            await ErrorAsync(await _client.PutAsync($"/api/downloads/task_123/{action}", null), HttpStatusCode.NotFound, "TASK_NOT_FOUND");
        }

        await ErrorAsync(await _client.GetAsync("/api/downloads/task_123"), HttpStatusCode.NotFound, "TASK_NOT_FOUND");
        await ErrorAsync(await _client.DeleteAsync("/api/downloads/task_123"), HttpStatusCode.NotFound, "TASK_NOT_FOUND");
        // 3.7 list with the documented parameters, 3.8 queue, 3.9 storage → success.
        var list = await DataAsync(await _client.GetAsync("/api/downloads/list?status=downloading&page=1&page_size=20"));
        Assert.Equal(JsonValueKind.Array, list.GetProperty("items").ValueKind);
        Assert.Equal(JsonValueKind.Number, (await DataAsync(await _client.GetAsync("/api/downloads/queue"))).GetProperty("max_concurrent_downloads").ValueKind);
        var storage = await DataAsync(await _client.GetAsync("/api/downloads/storage"));
        Assert.True(storage.GetProperty("total_gb").GetDouble() > 0);
        // ws://…/ws/downloads answers a plain GET with INVALID_INPUT (it is a WebSocket).
        await ErrorAsync(await _client.GetAsync("/ws/downloads"), HttpStatusCode.BadRequest, "INVALID_INPUT");
    }

    [Fact]
    public async Task Deployments_StartInspectStopRestartDelete_AndChatRefusedForANonDecoder()
    {
        await RegisterStandInAsync();
        // 4.1 POST /api/deployments/start with the seed's body → success: the registry's copy of the model is deployed;
        // port is named in a note as not applied; gpu_memory_utilization becomes the deployment's KV-cache budget (a share of
        // the model cache's limit, said in a note) and max_model_len its context limit (shown on the deployment).
        var started = await DataAsync(await _client.PostAsync("/api/deployments/start", Json("""
            {
              "model_id": "microsoft/DialoGPT-medium",
              "model_source": "huggingface",
              "port": 8000,
              "gpu_memory_utilization": 0.8,
              "max_model_len": 2048
            }
            """)));
        var id = started.GetProperty("deployment_id").GetString()!;
        Assert.Equal(DialoGpt, started.GetProperty("model_id").GetString());
        Assert.Contains(started.GetProperty("status").GetString(), new[] { "starting", "running" });
        Assert.Equal((_client.BaseAddress!.Host, _client.BaseAddress.Port), (started.GetProperty("host").GetString(), started.GetProperty("port").GetInt32()));
        Assert.True(started.GetProperty("created_at").TryGetDateTimeOffset(out _));
        var startNotes = started.GetProperty("notes").EnumerateArray().Select(n => n.GetString()!).ToArray();
        Assert.Equal(3, startNotes.Length); // model_source, port, gpu_memory_utilization: one note each
        foreach (var field in new[] { "model_source 'huggingface'", "port 8000 is not applied", "gpu_memory_utilization 0.8: the deployment's generations may hold" })
        {
            Assert.Single(startNotes, n => n.StartsWith(field, StringComparison.Ordinal));
        }

        Assert.Equal(2048, started.GetProperty("max_model_len").GetInt32());
        var limits = _factory.Services.GetRequiredService<ModelKit.Deployments.IDeploymentManager>().GetDeployment(id).Generation!;
        var cacheLimit = _factory.Services.GetRequiredService<ModelKit.Caching.IModelCache>().GetStats().MemoryLimitBytes;
        Assert.Equal((2048, (long)(0.8 * cacheLimit)), (limits.MaxContextLength, limits.KvCacheBytes));

        // 4.4 GET /api/deployments/{deployment_id} → success, until running.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonElement status;
        do
        {
            status = await DataAsync(await _client.GetAsync($"/api/deployments/{id}"));
            Assert.True(DateTime.UtcNow < deadline, status.ToString());
        }
        while (status.GetProperty("status").GetString() != "running");
        foreach (var field in new[] { "deployment_id", "model_id", "model_source", "status", "host", "port", "created_at", "started_at" }) Assert.True(status.TryGetProperty(field, out _), field);

        // 4.6 GET /api/deployments/list?status=running, 4.7 logs?lines=100, 4.8 health, 5.3 model-info → success.
        Assert.Contains(id, (await DataAsync(await _client.GetAsync("/api/deployments/list?status=running"))).GetProperty("deployments").EnumerateArray()
            .Select(d => d.GetProperty("deployment_id").GetString()));
        Assert.NotEqual(0, (await DataAsync(await _client.GetAsync($"/api/deployments/{id}/logs?lines=100"))).GetProperty("logs").GetArrayLength());
        Assert.Equal("healthy", (await DataAsync(await _client.GetAsync($"/api/deployments/{id}/health"))).GetProperty("status").GetString());
        Assert.Equal(DialoGpt, (await DataAsync(await _client.GetAsync($"/api/deployments/{id}/model-info"))).GetProperty("model_id").GetString());

        // 5.1 POST /api/chat/{deployment_id} and 5.2 POST /api/completions/{deployment_id} with the seed's bodies: the stand-in
        // is an MLP, not a decoder → the seed's CHAT_NOT_SUPPORTED (the bodies run on a decoder in LlmChatTests).
        var chat = await ErrorAsync(await _client.PostAsync($"/api/chat/{id}", Json("""
            {
              "messages": [
                {"role": "user", "content": "Hello!"}
              ],
              "stream": false,
              "temperature": 0.7,
              "max_tokens": 1000,
              "top_p": 0.9
            }
            """)), HttpStatusCode.BadRequest, "CHAT_NOT_SUPPORTED");
        Assert.Contains("not a text decoder", chat.GetProperty("message").GetString(), StringComparison.Ordinal);
        await ErrorAsync(await _client.PostAsync($"/api/completions/{id}", Json("""
            {
              "prompt": "Once upon a time",
              "stream": false,
              "temperature": 0.7,
              "max_tokens": 100,
              "top_p": 0.9
            }
            """)), HttpStatusCode.BadRequest, "CHAT_NOT_SUPPORTED");

        // 4.2 PUT stop → success (stopped); 4.3 PUT restart → success (starting again); 4.5 DELETE → success.
        Assert.Equal("stopped", (await DataAsync(await _client.PutAsync($"/api/deployments/{id}/stop", null))).GetProperty("status").GetString());
        await ErrorAsync(await _client.GetAsync($"/api/deployments/{id}/health"), HttpStatusCode.ServiceUnavailable, "DEPLOYMENT_NOT_RUNNING");
        Assert.Contains((await DataAsync(await _client.PutAsync($"/api/deployments/{id}/restart", null))).GetProperty("status").GetString(), new[] { "starting", "running" });
        Assert.True((await DataAsync(await _client.DeleteAsync($"/api/deployments/{id}"))).GetProperty("deleted").GetBoolean());
        await ErrorAsync(await _client.GetAsync($"/api/deployments/{id}"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
    }
}
