using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>Seed 004's deployments resource and seed 001's progress view through HTTP.</summary>
public sealed class DeploymentsApiTests : IClassFixture<SampleServerFactory>
{
    private readonly SampleServerFactory _factory;
    private readonly HttpClient _client;

    public DeploymentsApiTests(SampleServerFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    private static async Task<JsonElement> DataAsync(HttpResponseMessage response)
    {
        var json = await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal((true, 200), (json.GetProperty("success").GetBoolean(), json.GetProperty("code").GetInt32()));
        return json.GetProperty("data");
    }

    private async Task<JsonElement> WaitForAsync(string deploymentId, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var info = await DataAsync(await _client.GetAsync($"/api/deployments/{deploymentId}"));
            if (info.GetProperty("status").GetString() == status) return info;
            Assert.True(DateTime.UtcNow < deadline, $"{deploymentId} did not reach {status}: {info}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Lifecycle_StartInspectStopRestartDelete()
    {
        using (var stream = new MemoryStream(DemoModels.CreateMlp(new MlpSpec { Seed = 11 })))
        {
            await _factory.Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = "dialog", Name = "Dialog stand-in" }, stream, "m.onnx");
        }

        var started = await DataAsync(await _client.PostAsync("/api/deployments/start",
            Json("""{"deployment_id": "deploy_123", "model_id": "dialog", "model_source": "local", "port": 8000, "gpu_memory_utilization": 0.8, "max_model_len": 2048}""")));
        Assert.Equal(("deploy_123", "dialog", "local"), (started.GetProperty("deployment_id").GetString(), started.GetProperty("model_id").GetString(), started.GetProperty("model_source").GetString()));
        Assert.Contains(started.GetProperty("status").GetString(), new[] { "starting", "running" });
        // The server's own address (the request's), not the port asked for: each setting not applied is named.
        Assert.Equal((_client.BaseAddress!.Host, _client.BaseAddress.Port), (started.GetProperty("host").GetString(), started.GetProperty("port").GetInt32()));
        Assert.Equal(2, started.GetProperty("notes").GetArrayLength()); // port, and what gpu_memory_utilization became
        Assert.Equal(2048, started.GetProperty("max_model_len").GetInt32());
        var running = await WaitForAsync("deploy_123", "running");
        Assert.Equal(100, running.GetProperty("progress").GetInt32());
        Assert.All(running.GetProperty("stages").EnumerateArray(), s => Assert.Equal("completed", s.GetProperty("status").GetString()));
        Assert.True(running.GetProperty("started_at").TryGetDateTimeOffset(out _));
        Assert.False(running.TryGetProperty("gpu_memory_utilization", out _));

        var progress = (await ExpectAsync(await _client.GetAsync("/models/local/deployments/deploy_123"), HttpStatusCode.OK)).GetProperty("data");
        Assert.Contains(progress.GetProperty("logs").EnumerateArray(), l => l.GetProperty("message").GetString()!.StartsWith("Running with", StringComparison.Ordinal));
        var list = await DataAsync(await _client.GetAsync("/api/deployments/list?status=running"));
        Assert.Contains("deploy_123", list.GetProperty("deployments").EnumerateArray().Select(d => d.GetProperty("deployment_id").GetString()));
        Assert.Equal(list.GetProperty("deployments").GetArrayLength(), list.GetProperty("total").GetInt32());
        var logs = await DataAsync(await _client.GetAsync("/api/deployments/deploy_123/logs?lines=2"));
        Assert.Equal(2, logs.GetProperty("logs").GetArrayLength());
        Assert.Equal("healthy", (await DataAsync(await _client.GetAsync("/api/deployments/deploy_123/health"))).GetProperty("status").GetString());
        var info = await DataAsync(await _client.GetAsync("/api/deployments/deploy_123/model-info"));
        Assert.Equal(("dialog", "x"), (info.GetProperty("model_id").GetString(), info.GetProperty("inputs")[0].GetProperty("name").GetString()));

        Assert.Equal("stopped", (await DataAsync(await _client.PutAsync("/api/deployments/deploy_123/stop", null))).GetProperty("status").GetString());
        Assert.Contains("deploy_123", (await DataAsync(await _client.GetAsync("/api/deployments/list?status=stopped"))).GetProperty("deployments").EnumerateArray()
            .Select(d => d.GetProperty("deployment_id").GetString()));
        var down = await ExpectAsync(await _client.GetAsync("/api/deployments/deploy_123/health"), HttpStatusCode.ServiceUnavailable, "DEPLOYMENT_NOT_RUNNING");
        Assert.Equal("unhealthy", down.GetProperty("data").GetProperty("status").GetString());
        await DataAsync(await _client.PutAsync("/api/deployments/deploy_123/restart", null));
        await WaitForAsync("deploy_123", "running");

        Assert.True((await DataAsync(await _client.DeleteAsync("/api/deployments/deploy_123"))).GetProperty("deleted").GetBoolean());
        await ExpectAsync(await _client.GetAsync("/api/deployments/deploy_123"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
    }

    [Fact]
    public async Task BadRequests_AreRefusedWithTheirCodes()
    {
        await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_source": "huggingface"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        // A model the registry lacks is downloaded first; this server's hub cannot be reached → 502, no deployment created.
        var hub = await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "microsoft/Not-Registered", "model_source": "huggingface"}""")),
            HttpStatusCode.BadGateway, "SOURCE_UNAVAILABLE");
        Assert.False(hub.GetProperty("success").GetBoolean());
        await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "demo-mlp", "model_source": "ollama"}""")), HttpStatusCode.BadRequest, "INVALID_SOURCE");
        await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "ghost"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": 5}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await _client.GetAsync("/api/deployments/list?status=sleeping"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await _client.GetAsync("/api/deployments/nope/logs"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
        await ExpectAsync(await _client.GetAsync("/api/deployments/demo-mlp/logs?lines=0"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await _client.PutAsync("/api/deployments/nope/stop", null), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
        await ExpectAsync(await _client.PostAsync("/api/chat/nope", Json("""{"messages": []}""")), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
        await ExpectAsync(await _client.PostAsync("/api/chat/demo-mlp", Json("""{"messages": []}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await _client.PostAsync("/api/completions/demo-mlp", Json("""{"prompt": "x"}""")), HttpStatusCode.BadRequest, "CHAT_NOT_SUPPORTED");
        await ExpectAsync(await _client.GetAsync("/api/no-such-thing"), HttpStatusCode.NotFound, "NOT_FOUND");
        var share = await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "demo-mlp", "gpu_memory_utilization": 1.5}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains("'gpu_memory_utilization' must be a number above 0 and at most 1; got 1.5", share.GetProperty("message").GetString(), StringComparison.Ordinal);
        var length = await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "demo-mlp", "max_model_len": "long"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains("'max_model_len' must be a whole number of tokens", length.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
