using Microsoft.Extensions.DependencyInjection;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Tests;

/// <summary>Deployments over real ONNX Runtime sessions: bring-up with warm-up, replicas, a rolling update under load.</summary>
public sealed class DeploymentIntegrationTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private ServiceProvider _provider = null!;

    private IDeploymentManager Deployments => _provider.GetRequiredService<IDeploymentManager>();

    private IInferenceService Inference => _provider.GetRequiredService<IInferenceService>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddModelKit(o => o.DataDirectory = _dir.Path)
            .AddOnnxRuntime(o => o.IntraOpThreads = 1)
            .ConfigureInference(o => o.ServeUndeployedModels = false);
        _provider = services.BuildServiceProvider();
        var registry = _provider.GetRequiredService<IModelRegistry>();
        await registry.RegisterFileAsync(new ModelDefinition { Id = "mlp", Name = "MLP" }, TestModels.Mlp, version: "1");
        await registry.AddVersionFileAsync("mlp", TestModels.MlpV2, "2");
    }

    private static InferenceRequest Request(int seed) => new()
    {
        ModelId = "mlp",
        Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Enumerable.Range(0, 64).Select(i => MathF.Sin(seed + i)).ToArray(), 1, 64) },
    };

    [Fact]
    public async Task RollingUpdate_UnderConcurrentLoad_FailsNoRequestAndSwitchesTheOutputs()
    {
        await Deployments.DeployAsync(new DeploymentSpec
        {
            DeploymentId = "mlp-prod", ModelId = "mlp", Version = "1", Replicas = 2,
            Batching = new BatchingOptions { MaxBatchSize = 16, MaxQueueDelay = TimeSpan.FromMilliseconds(1) },
        });
        var info = await Deployments.WaitUntilRunningAsync("mlp-prod").WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(DeploymentStageStatus.Completed, info.Stages.Single(s => s.Name == "warmup").Status);
        Assert.StartsWith("one run took", info.Stages.Single(s => s.Name == "warmup").Message, StringComparison.Ordinal);
        Assert.True(info.MemoryUsedBytes > 0);
        var before = (await Inference.InferAsync(Request(7))).Outputs["logits"].ToArray<float>();

        // Eight callers keep sending while version 2 is rolled in; none may fail.
        using var stop = new CancellationTokenSource();
        var versionsSeen = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
        var sawVersion1 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawVersion2 = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var callers = Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            var calls = 0;
            while (!stop.IsCancellationRequested || calls < 10)
            {
                var result = await Inference.InferAsync(Request(c));
                if (versionsSeen.AddOrUpdate(result.Version, 1, (_, n) => n + 1) >= 10) (result.Version == "1" ? sawVersion1 : sawVersion2).TrySetResult();
                calls++;
            }

            return calls;
        })).ToArray();

        await sawVersion1.Task.WaitAsync(TimeSpan.FromSeconds(30)); // traffic is flowing
        var updated = await Deployments.UpdateAsync("mlp-prod", new DeploymentUpdate { Version = "2" }).WaitAsync(TimeSpan.FromSeconds(30));
        await sawVersion2.Task.WaitAsync(TimeSpan.FromSeconds(30)); // and keeps flowing on the new version
        await stop.CancelAsync();
        var counts = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("2", updated.Version);
        Assert.True(versionsSeen.ContainsKey("1") && versionsSeen.ContainsKey("2"), "callers saw both versions: " + string.Join(", ", versionsSeen));
        Assert.All(counts, n => Assert.True(n >= 10));
        var after = (await Inference.InferAsync(Request(7))).Outputs["logits"].ToArray<float>();
        Assert.NotEqual(before, after);
        Assert.Contains(Deployments.GetLogs("mlp-prod"), l => l.Message.Contains("Version 1 drained and unloaded", StringComparison.Ordinal));

        await Deployments.StopAsync("mlp-prod");
        await Assert.ThrowsAsync<DeploymentNotRunningException>(() => Inference.InferAsync(Request(1)));
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        _dir.Dispose();
    }
}
