using System.Text;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Registry;

namespace ModelKit.Tests.Deployments;

/// <summary>Memory requests are reservations against the cache's limit; an update replaces its deployment's own.</summary>
public sealed class DeploymentMemoryTests : IAsyncLifetime
{
    private const long GiB = 1L << 30;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _dir = new();
    private ServiceProvider _provider = null!;

    private IDeploymentManager Deployments => _provider.GetRequiredService<IDeploymentManager>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IInferenceBackend>(new FakeBackend());
        // The default limit of a 24 GiB host: three quarters of it.
        services.AddModelKit(o => o.DataDirectory = _dir.Path)
            .ConfigureCache(c => c.MemoryLimitBytes = new ModelCacheOptions().ResolveMemoryLimitBytes(24 * GiB));
        _provider = services.BuildServiceProvider();
        var registry = _provider.GetRequiredService<IModelRegistry>();
        await registry.RegisterAsync(new ModelDefinition { Id = "llm", Name = "Large" }, new MemoryStream(Encoding.UTF8.GetBytes("model llm")), "m.onnx");
        await registry.RegisterAsync(new ModelDefinition { Id = "side", Name = "Beside it" }, new MemoryStream(Encoding.UTF8.GetBytes("model side")), "m.onnx");
    }

    [Fact]
    public async Task UpdateAsync_8GiBRequestRaisedTo16GiBOnA24GiBHost_FitsAndA4GiBNeighbourDoesNot()
    {
        Assert.Equal(18 * GiB, _provider.GetRequiredService<IModelCache>().GetStats().MemoryLimitBytes);
        var pending = await Deployments.DeployAsync(new DeploymentSpec { DeploymentId = "big", ModelId = "llm", MemoryRequestBytes = 8 * GiB });
        await Deployments.WaitUntilRunningAsync(pending.DeploymentId).WaitAsync(Wait);

        // The update replaces the deployment's own 8 GiB reservation instead of adding to it.
        var updated = await Deployments.UpdateAsync("big", new DeploymentUpdate { MemoryRequestBytes = 16 * GiB }).WaitAsync(Wait);
        Assert.Equal(16 * GiB, updated.MemoryRequestBytes);
        Assert.Equal(DeploymentState.Running, updated.State);

        var error = await Assert.ThrowsAsync<InsufficientResourcesException>(() =>
            Deployments.DeployAsync(new DeploymentSpec { DeploymentId = "neighbour", ModelId = "side", MemoryRequestBytes = 4 * GiB }));
        Assert.Equal(ModelKitErrorCodes.InsufficientResources, error.ErrorCode);
        Assert.Contains("16.00 GiB of the 18.00 GiB", error.Message, StringComparison.Ordinal);
        Assert.Equal(["big"], Deployments.ListDeployments().Select(d => d.DeploymentId));

        // What is left, 2 GiB, still fits.
        var small = await Deployments.DeployAsync(new DeploymentSpec { DeploymentId = "small", ModelId = "side", MemoryRequestBytes = 2 * GiB });
        Assert.Equal(DeploymentState.Running, (await Deployments.WaitUntilRunningAsync(small.DeploymentId).WaitAsync(Wait)).State);
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        _dir.Dispose();
    }
}
