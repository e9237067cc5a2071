using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;

namespace ModelKit.Tests;

/// <summary>The sample server takes ModelKit's options from its configuration (appsettings.json, environment, settings).</summary>
public sealed class SampleServerConfigurationTests
{
    [Fact]
    public async Task SampleServer_CacheLimitsInConfiguration_AreTheCachesLimits()
    {
        await using var factory = new CacheConfiguredFactory();
        using var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");

        var stats = (await client.GetFromJsonAsync<JsonElement>("/inference/cache/stats")).GetProperty("stats");
        Assert.Equal((3L << 30, 7), (stats.GetProperty("memory_limit_bytes").GetInt64(), stats.GetProperty("max_cache_size").GetInt32()));
        var models = (await client.GetFromJsonAsync<JsonElement>("/inference/cache/models")).GetProperty("models").EnumerateArray().ToArray();
        Assert.NotEmpty(models);
        Assert.All(models, m => Assert.Equal("initializer_estimate", m.GetProperty("memory_measurement").GetString()));
    }

    private sealed class CacheConfiguredFactory : SampleServerFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Cache:MemoryLimitBytes", (3L << 30).ToString(System.Globalization.CultureInfo.InvariantCulture));
            builder.UseSetting("ModelKit:Cache:MaxModels", "7");
        }
    }
}
