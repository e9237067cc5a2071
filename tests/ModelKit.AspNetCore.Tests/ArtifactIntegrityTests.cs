using System.Net;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Caching;
using ModelKit.Registry;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>An artifact deleted or damaged under a deployed model: a server fault, named by readiness, never a path.</summary>
public sealed class ArtifactIntegrityTests
{
    private static readonly string Row = "[[" + string.Join(", ", Enumerable.Range(0, 64).Select(i => (i / 64.0).ToString("F3", System.Globalization.CultureInfo.InvariantCulture))) + "]]";

    [Fact]
    public async Task Inference_ArtifactDeletedUnderADeployedModel_Is503ModelUnavailable_AndReadinessNamesIt()
    {
        await using var factory = new SampleServerFactory();
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        var body = Json($$"""{"input_data": {{Row}}}""");
        await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", body), HttpStatusCode.OK);
        var ready = await client.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        var registry = factory.Services.GetRequiredService<IModelRegistry>();
        var version = (await registry.GetModelAsync("demo-mlp")).FindVersion(null)!;
        File.Delete(version.Files[0].Path);

        // Still loaded: it serves from memory, but readiness already names the model and its deployment.
        ready = await client.GetAsync("/health/ready");
        var readiness = await ExpectAsync(ready, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("not_ready", readiness.GetProperty("status").GetString());
        var named = readiness.GetProperty("unavailable_models").EnumerateArray().Single(m => m.GetProperty("model_id").GetString() == "demo-mlp");
        Assert.False(string.IsNullOrEmpty(named.GetProperty("deployment_id").GetString()));
        Assert.DoesNotContain(factory.DataDirectory, await ready.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Once unloaded, a request cannot load it: 503 MODEL_UNAVAILABLE, and nothing says where the store is.
        var cache = factory.Services.GetRequiredService<IModelCache>();
        foreach (var entry in cache.GetStats().Entries.Where(e => e.Key.ModelId == "demo-mlp")) Assert.True(cache.Remove(entry.Key));
        var response = await client.PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{Row}}}"""));
        var problem = await ExpectAsync(response, HttpStatusCode.ServiceUnavailable, ModelKitErrorCodes.ModelUnavailable);
        Assert.Contains("demo-mlp", problem.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(factory.DataDirectory, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The server stays up and other models serve.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task Inference_BlobSharedByTwoModelsDamaged_BothAreUnavailable_AndAReuploadHeals()
    {
        await using var factory = new SampleServerFactory();
        var client = factory.CreateClient();
        var registry = factory.Services.GetRequiredService<IModelRegistry>();
        var mlp = Path.Combine(factory.DataDirectory, "..", Path.GetRandomFileName() + ".onnx");
        File.WriteAllBytes(mlp, ModelKit.ModelGenerator.DemoModels.CreateMlp(new ModelKit.ModelGenerator.MlpSpec { Seed = 99 }));
        try
        {
            await registry.RegisterFileAsync(new ModelDefinition { Id = "twin-a", Name = "A" }, mlp);
            await registry.RegisterFileAsync(new ModelDefinition { Id = "twin-b", Name = "B" }, mlp);
            var a = (await registry.GetModelAsync("twin-a")).FindVersion(null)!;
            var b = (await registry.GetModelAsync("twin-b")).FindVersion(null)!;
            Assert.Equal(a.Sha256, b.Sha256);
            File.WriteAllBytes(a.Files[0].Path, [1, 2, 3]); // damaged in place: both versions address this blob

            foreach (var id in new[] { "twin-a", "twin-b" })
            {
                var response = await client.PostAsync($"/api/v1/models/{id}/inference", Json($$"""{"input_data": {{Row}}}"""));
                var problem = await ExpectAsync(response, HttpStatusCode.ServiceUnavailable, ModelKitErrorCodes.ModelUnavailable);
                Assert.Contains("sha256", problem.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
            }

            // A new version with the same content heals it: the upload rewrites nothing that is good, so delete and register again.
            await registry.DeleteModelAsync("twin-a");
            await registry.DeleteModelAsync("twin-b");
            await registry.RegisterFileAsync(new ModelDefinition { Id = "twin-a", Name = "A" }, mlp);
            await ExpectAsync(await client.PostAsync("/api/v1/models/twin-a/inference", Json($$"""{"input_data": {{Row}}}""")), HttpStatusCode.OK);
        }
        finally
        {
            File.Delete(mlp);
        }
    }
}
