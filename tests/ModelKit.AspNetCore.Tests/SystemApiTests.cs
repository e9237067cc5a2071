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
        Assert.Equal("healthy", (await anonymous.GetFromJsonAsync<JsonElement>("/health")).GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/system/resources")).StatusCode);

        var resources = await client.GetFromJsonAsync<JsonElement>("/api/system/resources");
        Assert.Equal(Environment.ProcessorCount, resources.GetProperty("cpu").GetProperty("cores").GetInt32());
        var usage = resources.GetProperty("cpu").GetProperty("usage_percent").GetDouble();
        Assert.InRange(usage, 0, 100);
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
        var load = await client.GetFromJsonAsync<JsonElement>("/api/system/load");
        Assert.True(load.GetProperty("inference").GetProperty("running_deployments").GetInt32() >= 1);
        var health = await client.GetFromJsonAsync<JsonElement>("/api/system/health");
        Assert.Contains(health.GetProperty("status").GetString(), new[] { "healthy", "degraded" });
        Assert.True(health.GetProperty("deployments").GetProperty("running").GetInt32() >= 1);
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
