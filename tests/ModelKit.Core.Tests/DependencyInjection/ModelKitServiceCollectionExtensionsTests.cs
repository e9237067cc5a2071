using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Inference;

namespace ModelKit.Tests.DependencyInjection;

public sealed class ModelKitServiceCollectionExtensionsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    private async Task<IHost> StartHostAsync(Dictionary<string, string?> settings, string? environmentPrefix = null)
    {
        var builder = Host.CreateApplicationBuilder();
        settings["ModelKit:DataDirectory"] = _dir.Path;
        builder.Configuration.AddInMemoryCollection(settings);
        if (environmentPrefix is not null) builder.Configuration.AddEnvironmentVariables(environmentPrefix);
        builder.Services.AddSingleton<IInferenceBackend>(new FakeBackend());
        builder.Services.AddModelKit(builder.Configuration.GetSection("ModelKit"));
        var host = builder.Build();
        try
        {
            await host.StartAsync();
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    [Fact]
    public async Task AddModelKit_Configuration_BindsTheCacheLimitsAndEverySection()
    {
        using var host = await StartHostAsync(new()
        {
            ["ModelKit:MaxArtifactBytes"] = "1048576",
            ["ModelKit:Cache:MemoryLimitBytes"] = "3221225472",
            ["ModelKit:Cache:MaxModels"] = "5",
            ["ModelKit:Inference:DefaultTimeout"] = "00:00:07",
            ["ModelKit:Inference:DefaultBatching:MaxBatchSize"] = "12",
            ["ModelKit:Deployments:WarmUp"] = "false",
            ["ModelKit:Jobs:MaxJobs"] = "99",
        });

        var stats = host.Services.GetRequiredService<IModelCache>().GetStats();
        Assert.Equal((3L << 30, 5), (stats.MemoryLimitBytes, stats.MaxModels));
        Assert.Equal((_dir.Path, 1L << 20), (host.Services.GetRequiredService<IOptions<ModelKitOptions>>().Value.DataDirectory, host.Services.GetRequiredService<IOptions<ModelKitOptions>>().Value.MaxArtifactBytes));
        var inference = host.Services.GetRequiredService<IOptions<InferenceOptions>>().Value;
        Assert.Equal((TimeSpan.FromSeconds(7), 12), (inference.DefaultTimeout, inference.DefaultBatching.MaxBatchSize));
        Assert.False(host.Services.GetRequiredService<IOptions<DeploymentOptions>>().Value.WarmUp);
        Assert.Equal(99, host.Services.GetRequiredService<IOptions<InferenceJobOptions>>().Value.MaxJobs);
        await host.StopAsync();
    }

    [Fact]
    public async Task AddModelKit_EnvironmentVariables_SetTheCacheLimits()
    {
        var prefix = $"MODELKIT_TEST_{Guid.NewGuid():N}_";
        Environment.SetEnvironmentVariable(prefix + "ModelKit__Cache__MemoryLimitBytes", "536870912");
        Environment.SetEnvironmentVariable(prefix + "ModelKit__Cache__MaxModels", "3");
        try
        {
            using var host = await StartHostAsync([], prefix);
            var stats = host.Services.GetRequiredService<IModelCache>().GetStats();
            Assert.Equal((512L << 20, 3), (stats.MemoryLimitBytes, stats.MaxModels));
            await host.StopAsync();
        }
        finally
        {
            Environment.SetEnvironmentVariable(prefix + "ModelKit__Cache__MemoryLimitBytes", null);
            Environment.SetEnvironmentVariable(prefix + "ModelKit__Cache__MaxModels", null);
        }
    }

    [Fact]
    public async Task AddModelKit_NoMemoryLimitConfigured_FollowsTheMachine()
    {
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Assert.True(available > 0);
        using (var host = await StartHostAsync([]))
        {
            Assert.Equal((long)(available * 0.75), host.Services.GetRequiredService<IModelCache>().GetStats().MemoryLimitBytes);
            await host.StopAsync();
        }

        using (var host = await StartHostAsync(new() { ["ModelKit:Cache:MemoryLimitFraction"] = "0.5" }))
        {
            Assert.Equal((long)(available * 0.5), host.Services.GetRequiredService<IModelCache>().GetStats().MemoryLimitBytes);
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task AddModelKit_InvalidCacheConfiguration_FailsAtStartNamingEveryField()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartHostAsync(new()
        {
            ["ModelKit:Cache:MemoryLimitBytes"] = "0",
            ["ModelKit:Cache:MemoryLimitFraction"] = "1.5",
            ["ModelKit:Cache:MaxModels"] = "0",
        }));
        Assert.Contains(error.Failures, f => f.Contains("MemoryLimitBytes must be positive", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MemoryLimitFraction must be greater than 0 and at most 1 (was 1.5)", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MaxModels must be 1..10000 (was 0)", StringComparison.Ordinal));
    }

    public void Dispose() => _dir.Dispose();
}
