using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>Seed 004's system endpoints, the probes, and back-pressure (QUEUE_FULL) through HTTP.</summary>
public sealed class SystemApiTests(SampleServerFactory factory) : IClassFixture<SampleServerFactory>
{
    [Fact]
    public async Task Probes_AndSystemResources_DescribeTheMachine()
    {
        var client = factory.CreateClient();
        var anonymous = factory.CreateClient();
        anonymous.DefaultRequestHeaders.Remove("X-API-Key");
        Assert.Equal("alive", (await anonymous.GetFromJsonAsync<JsonElement>("/health/live")).GetProperty("status").GetString());
        Assert.Equal("ready", (await anonymous.GetFromJsonAsync<JsonElement>("/health/ready")).GetProperty("status").GetString());
        // Seed 004's health answers are bare objects, open to every caller.
        var health = await ExpectAsync(await anonymous.GetAsync("/health"), HttpStatusCode.OK);
        Assert.Equal(("healthy", "modelkit"), (health.GetProperty("status").GetString(), health.GetProperty("service").GetString()));
        Assert.Matches(@"^\d+\.\d+\.\d+$", health.GetProperty("version").GetString());
        Assert.Equal("healthy", health.GetProperty("checks").GetProperty("modelkit").GetProperty("status").GetString());
        var api = await ExpectAsync(await anonymous.GetAsync("/api/health"), HttpStatusCode.OK);
        Assert.Equal(("healthy", "v1", "modelkit"), (api.GetProperty("status").GetString(), api.GetProperty("api_version").GetString(), api.GetProperty("service").GetString()));
        var refused = await ExpectAsync(await anonymous.GetAsync("/api/system/resources"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.False(refused.GetProperty("success").GetBoolean());

        var envelope = await ExpectAsync(await client.GetAsync("/api/system/resources"), HttpStatusCode.OK);
        Assert.Equal((true, 200), (envelope.GetProperty("success").GetBoolean(), envelope.GetProperty("code").GetInt32()));
        var resources = envelope.GetProperty("data");
        Assert.Equal(Environment.ProcessorCount, resources.GetProperty("cpu").GetProperty("cores").GetInt32());
        Assert.InRange(resources.GetProperty("cpu").GetProperty("usage_percent").GetDouble(), 0, 100);
        Assert.Equal(ModelKit.Diagnostics.SystemMonitor.CpuModelName, resources.GetProperty("cpu").TryGetProperty("model_name", out var name) ? name.GetString() : null);
        Assert.True(resources.GetProperty("memory").GetProperty("total_gb").GetDouble() > 0.1);
        Assert.True(resources.GetProperty("memory").GetProperty("process_bytes").GetInt64() > 1 << 20);
        Assert.True(resources.GetProperty("disk").GetProperty("total_gb").GetDouble() > 0);
        foreach (var (part, free) in new[] { ("memory", "available_gb"), ("disk", "free_gb") })
        {
            // Seed 004's names; used + free = total (to the rounding of each).
            var json = resources.GetProperty(part);
            var (total, used, left) = (json.GetProperty("total_gb").GetDouble(), json.GetProperty("used_gb").GetDouble(), json.GetProperty(free).GetDouble());
            Assert.InRange(used + left, total - 0.02, total + 0.02);
            Assert.InRange(json.GetProperty("usage_percent").GetDouble(), 0, 100);
        }
        Assert.Equal(3, resources.GetProperty("load_average").GetArrayLength()); // Linux

        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        var row = JsonSerializer.Serialize(new[] { new float[64] });
        await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{row}}}""")), HttpStatusCode.OK);
        var load = (await ExpectAsync(await client.GetAsync("/api/system/load"), HttpStatusCode.OK)).GetProperty("data");
        Assert.True(load.GetProperty("inference").GetProperty("running_deployments").GetInt32() >= 1);
        Assert.True(load.GetProperty("inference").GetProperty("average_latency_ms").GetDouble() > 0);
        var system = (await ExpectAsync(await client.GetAsync("/api/system/health"), HttpStatusCode.OK)).GetProperty("data");
        Assert.Contains(system.GetProperty("status").GetString(), new[] { "healthy", "degraded" });
        Assert.True(system.GetProperty("deployments").GetProperty("running").GetInt32() >= 1);
        var storage = (await ExpectAsync(await client.GetAsync("/api/downloads/storage"), HttpStatusCode.OK)).GetProperty("data");
        Assert.True(storage.GetProperty("models").GetInt32() >= 2);
        Assert.True(storage.GetProperty("models_size_bytes").GetInt64() > 0);
        Assert.Equal(resources.GetProperty("disk").GetProperty("total_gb").GetDouble(), storage.GetProperty("total_gb").GetDouble());
    }

    [Fact]
    public async Task AnonymousSurface004_AnswersWithoutAKey_WhileOtherSurfacesStillAskForOne()
    {
        await using var anonymous004 = new Anonymous004Factory();
        var client = anonymous004.CreateClient();
        client.DefaultRequestHeaders.Remove("X-API-Key");
        Assert.True((await ExpectAsync(await client.GetAsync("/api/system/resources"), HttpStatusCode.OK)).GetProperty("success").GetBoolean());
        await ExpectAsync(await client.GetAsync("/api/deployments/list"), HttpStatusCode.OK);
        var gateway = await ExpectAsync(await client.GetAsync("/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(401, gateway.GetProperty("code").GetInt32());
        await ExpectAsync(await client.GetAsync("/api/v1/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    private sealed class Anonymous004Factory : SampleServerFactory
    {
        protected override void ConfigureWebHost(Microsoft.AspNetCore.Hosting.IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Auth:AnonymousSurfaces:0", "004");
            builder.UseSetting("ModelKit:DeployDemoModels", "false");
        }
    }

    [Fact]
    public async Task FullQueue_Answers429WithRetryAfter_AndTheServerKeepsServing()
    {
        var client = factory.CreateClient();
        using (var stream = new MemoryStream(DemoModels.CreateBertEncoder(new BertSpec { Layers = 4, Hidden = 256, Heads = 4, Vocabulary = 1000 })))
        {
            await factory.Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = "slow-bert", Name = "Slow" }, stream, "b.onnx");
        }

        var deploy = await client.PostAsync("/api/v1/models/deploy", Json("""
            {"config": {"model_id": "slow-bert", "scaling_config": {"replicas": 1, "min_replicas": 1, "max_replicas": 1},
                        "batching": {"max_batch_size": 1, "max_queue_size": 1}}}
            """));
        Assert.Equal(HttpStatusCode.Accepted, deploy.StatusCode);
        await factory.WaitUntilRunningAsync(client, "slow-bert");

        var ids = JsonSerializer.Serialize(new[] { Enumerable.Range(1, 128).ToArray() });
        var mask = JsonSerializer.Serialize(new[] { Enumerable.Repeat(1, 128).ToArray() });
        var types = JsonSerializer.Serialize(new[] { new int[128] });
        var body = "{\"input_data\": {\"input_ids\": " + ids + ", \"attention_mask\": " + mask + ", \"token_type_ids\": " + types + "}}";
        var responses = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => client.PostAsync("/api/v1/models/slow-bert/inference", Json(body))));

        var rejected = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToArray();
        Assert.NotEmpty(rejected);
        Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.TooManyRequests }));
        var problem = JsonDocument.Parse(await rejected[0].Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("QUEUE_FULL", CodeOf(problem));
        Assert.True(rejected[0].Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));

        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/api/v1/models/slow-bert/inference", Json(body))).StatusCode);
    }
}
