using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>Seed 004's catalogue views and seed 001's local models through HTTP.</summary>
public sealed class CatalogueApiTests(SampleServerFactory factory) : IClassFixture<SampleServerFactory>
{
    [Fact]
    public async Task SearchCategoriesStatsFavouritesAndTrending()
    {
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        var search = await client.GetFromJsonAsync<JsonElement>("/api/models/search?query=BERT&page=1");
        Assert.Equal(["demo-bert"], search.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("model_id").GetString()));
        await ExpectAsync(await client.GetAsync("/api/models/search?query=x&source=huggingface"), HttpStatusCode.BadRequest, "INVALID_INPUT");

        // The views show the registry's own statistics (counted in Core), in seed 004's names.
        var expected = await factory.Services.GetRequiredService<IModelRegistry>().GetStatisticsAsync();
        var categories = await client.GetFromJsonAsync<JsonElement>("/api/models/categories");
        Assert.Equal(expected.ByTask.Select(p => (p.Key, p.Value)), categories.GetProperty("categories").EnumerateArray().Select(c => (c.GetProperty("name").GetString()!, c.GetProperty("count").GetInt32())));
        Assert.Contains(categories.GetProperty("categories").EnumerateArray(), c => c.GetProperty("name").GetString() == "feature-extraction");
        var stats = await client.GetFromJsonAsync<JsonElement>("/api/models/stats");
        Assert.True(expected.Models >= 2);
        Assert.Equal((expected.Models, expected.Versions, expected.TotalBytes), (stats.GetProperty("total_models").GetInt32(), stats.GetProperty("total_versions").GetInt32(), stats.GetProperty("total_size_bytes").GetInt64()));
        Assert.Equal(expected.ByStatus[ModelVersionStatus.Ready], stats.GetProperty("by_status").GetProperty("ready").GetInt32());
        Assert.Equal(expected.ByFramework["onnx"], stats.GetProperty("by_framework").GetProperty("onnx").GetInt32());

        var favorite = await ExpectAsync(await client.PostAsync("/api/models/demo-bert/favorite", null), HttpStatusCode.OK);
        Assert.True(favorite.GetProperty("favorite").GetBoolean());
        Assert.True((await client.GetFromJsonAsync<JsonElement>("/api/models/demo-bert/info")).GetProperty("favorite").GetBoolean());
        var favorites = await client.GetFromJsonAsync<JsonElement>("/api/v1/models?favorite=true");
        Assert.Equal(["demo-bert"], favorites.GetProperty("data").GetProperty("items").EnumerateArray().Select(m => m.GetProperty("model_id").GetString()));
        Assert.False((await ExpectAsync(await client.DeleteAsync("/api/models/demo-bert/favorite"), HttpStatusCode.OK)).GetProperty("favorite").GetBoolean());
        await ExpectAsync(await client.PostAsync("/api/models/ghost/favorite", null), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");

        var row = JsonSerializer.Serialize(new[] { new float[64] });
        for (var i = 0; i < 3; i++) await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{row}}}""")), HttpStatusCode.OK);
        var trending = await client.GetFromJsonAsync<JsonElement>("/api/models/trending?limit=5");
        var mlp = trending.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("model_id").GetString() == "demo-mlp");
        Assert.True(mlp.GetProperty("runs").GetInt64() >= 3);
    }

    [Fact]
    public async Task LocalModels_DeployByTypeAndSize_ThenUnload()
    {
        var client = factory.CreateClient();
        using (var stream = new MemoryStream(DemoModels.CreateMlp(new MlpSpec { Seed = 3 })))
        {
            await factory.Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = "deepseek-v3-7b", Name = "Stand-in" }, stream, "m.onnx");
        }

        var accepted = await ExpectAsync(await client.PostAsync("/models/local/deploy", Json("""
            {"model_type": "deepseek-v3", "model_size": "7b", "quantization": "int8", "target_nodes": ["worker-03"],
             "deployment_config": {"max_batch_size": 8, "use_flash_attention": true, "use_kv_cache": true, "tensor_parallel_size": 1, "cpu_offload": false}}
            """)), HttpStatusCode.Accepted);
        Assert.Equal("deepseek-v3-7b", accepted.GetProperty("model_id").GetString());
        var id = accepted.GetProperty("deployment_id").GetString();
        var status = await factory.WaitUntilRunningAsync(client, "deepseek-v3-7b");
        Assert.Equal(id, status.GetProperty("deployment_id").GetString());
        var local = await client.GetFromJsonAsync<JsonElement>("/models/local");
        Assert.Contains(local.GetProperty("models").EnumerateArray(), m => m.GetProperty("model_id").GetString() == "deepseek-v3-7b");

        await ExpectAsync(await client.DeleteAsync("/models/local/deepseek-v3-7b"), HttpStatusCode.OK);
        await ExpectAsync(await client.GetAsync($"/api/deployments/{id}"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
        await ExpectAsync(await client.DeleteAsync("/models/local/deepseek-v3-7b"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
        await ExpectAsync(await client.PostAsync("/models/local/deploy", Json("""{"quantization": "int8"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
    }
}
