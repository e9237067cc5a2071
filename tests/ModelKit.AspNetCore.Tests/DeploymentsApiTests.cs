using System.Net;
using System.Net.Http.Json;
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

    private async Task<JsonElement> WaitForAsync(string deploymentId, string status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var info = await _client.GetFromJsonAsync<JsonElement>($"/api/deployments/{deploymentId}");
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

        var started = await ExpectAsync(await _client.PostAsync("/api/deployments/start",
            Json("""{"deployment_id": "deploy_123", "model_id": "dialog", "model_source": "registry", "port": 8000, "gpu_memory_utilization": 0.8, "max_model_len": 2048}""")),
            HttpStatusCode.Accepted);
        Assert.EndsWith("/api/deployments/deploy_123", started.GetProperty("progress_url").GetString(), StringComparison.Ordinal);
        var running = await WaitForAsync("deploy_123", "running");
        Assert.Equal(100, running.GetProperty("progress").GetInt32());
        Assert.All(running.GetProperty("stages").EnumerateArray(), s => Assert.Equal("completed", s.GetProperty("status").GetString()));

        var progress = await _client.GetFromJsonAsync<JsonElement>("/models/local/deployments/deploy_123");
        Assert.Contains(progress.GetProperty("logs").EnumerateArray(), l => l.GetProperty("message").GetString()!.StartsWith("Running with", StringComparison.Ordinal));
        var list = await _client.GetFromJsonAsync<JsonElement>("/api/deployments/list?status=running");
        Assert.Contains("deploy_123", list.GetProperty("deployments").EnumerateArray().Select(d => d.GetProperty("deployment_id").GetString()));
        var logs = await _client.GetFromJsonAsync<JsonElement>("/api/deployments/deploy_123/logs?lines=2");
        Assert.Equal(2, logs.GetProperty("logs").GetArrayLength());
        Assert.Equal("healthy", (await ExpectAsync(await _client.GetAsync("/api/deployments/deploy_123/health"), HttpStatusCode.OK)).GetProperty("status").GetString());
        var info = await _client.GetFromJsonAsync<JsonElement>("/api/deployments/deploy_123/model-info");
        Assert.Equal(("dialog", "x"), (info.GetProperty("model_id").GetString(), info.GetProperty("inputs")[0].GetProperty("name").GetString()));

        var stopped = await ExpectAsync(await _client.PutAsync("/api/deployments/deploy_123/stop", null), HttpStatusCode.OK);
        Assert.Equal("stopped", stopped.GetProperty("status").GetString());
        Assert.Equal("unhealthy", (await ExpectAsync(await _client.GetAsync("/api/deployments/deploy_123/health"), HttpStatusCode.ServiceUnavailable)).GetProperty("status").GetString());
        await ExpectAsync(await _client.PutAsync("/api/deployments/deploy_123/restart", null), HttpStatusCode.Accepted);
        await WaitForAsync("deploy_123", "running");

        await ExpectAsync(await _client.DeleteAsync("/api/deployments/deploy_123"), HttpStatusCode.OK);
        await ExpectAsync(await _client.GetAsync("/api/deployments/deploy_123"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
    }

    [Fact]
    public async Task BadRequests_AreRefusedWithTheirCodes()
    {
        await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_source": "huggingface"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        var hub = await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "microsoft/DialoGPT-medium", "model_source": "huggingface"}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains("register or upload the model first", hub.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ExpectAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "ghost"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ExpectAsync(await _client.GetAsync("/api/deployments/list?status=sleeping"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await _client.GetAsync("/api/deployments/nope/logs"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
        await ExpectAsync(await _client.GetAsync("/api/deployments/demo-mlp/logs?lines=0"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ExpectAsync(await _client.PutAsync("/api/deployments/nope/stop", null), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
    }
}
