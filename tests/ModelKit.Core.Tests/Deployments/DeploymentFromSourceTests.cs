using Microsoft.Extensions.DependencyInjection;
using ModelKit.Deployments;
using ModelKit.Downloads;
using ModelKit.Inference;
using ModelKit.Tensors;
using ModelKit.Tests.Downloads;

namespace ModelKit.Tests.Deployments;

/// <summary>
/// Deployments of models the registry does not have yet (<see cref="DeploymentSpec.Source"/>): downloaded from a local
/// hub over real sockets, registered, loaded by ONNX Runtime and served — also across a restart mid-download.
/// </summary>
public sealed class DeploymentFromSourceTests : IAsyncLifetime
{
    private DownloadTestBed _bed = null!;

    public async Task InitializeAsync()
    {
        _bed = await DownloadTestBed.StartAsync();
        _bed.SeedMlpRepo();
    }

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private ServiceProvider Build()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddModelKit(o => o.DataDirectory = _bed.DataDirectory).AddOnnxRuntime();
        services.Configure<HubOptions>(o => o.Endpoint = _bed.Hub.Endpoint);
        services.Configure<DownloadOptions>(o =>
        {
            o.RetryDelay = TimeSpan.FromMilliseconds(10);
            o.ProgressInterval = TimeSpan.FromMilliseconds(50);
            o.ReservedFreeBytes = 0;
        });
        return services.BuildServiceProvider();
    }

    private static async Task RestoreAsync(ServiceProvider provider)
    {
        await provider.GetRequiredService<DownloadManager>().RestoreAsync();
        await provider.GetRequiredService<DeploymentManager>().RestoreAsync();
    }

    private static DeploymentSpec Spec => new()
    {
        DeploymentId = "from-hub",
        ModelId = "acme/mlp",
        Source = new DownloadRequest { Source = "huggingface", ModelId = DownloadTestBed.Repo },
    };

    [Fact]
    public async Task DeployAsync_ModelNotRegistered_DownloadsFirst_ThenServes_AcrossARestart()
    {
        _bed.Hub.Faults.BytesPerSecond = 20_000;
        var first = Build();
        await RestoreAsync(first);
        var deployments = first.GetRequiredService<IDeploymentManager>();
        var info = await deployments.DeployAsync(Spec);
        Assert.NotNull(info.DownloadTaskId);
        Assert.Equal(("download", "huggingface"), (info.Stages[0].Name, info.DownloadSource));
        Assert.NotEqual(DeploymentState.Running, info.State);
        await DownloadTestBed.WaitForBytesAsync(first.GetRequiredService<IDownloadManager>(), info.DownloadTaskId!, 30_000); // inside model.onnx, the largest file
        var during = deployments.GetDeployment("from-hub");
        Assert.Equal((DeploymentStageStatus.InProgress, "download"), (during.Stages[0].Status, during.CurrentStage));

        // The process stops mid-download; the next one resumes the download and brings the deployment up.
        await first.DisposeAsync();
        _bed.Hub.Faults.BytesPerSecond = 0;
        await using var second = Build();
        await RestoreAsync(second);
        using var timeout = new CancellationTokenSource(DownloadTestBed.Patience);
        var running = await second.GetRequiredService<IDeploymentManager>().WaitUntilRunningAsync("from-hub", timeout.Token);
        Assert.Equal(("1", DeploymentStageStatus.Completed), (running.Version, running.Stages[0].Status));
        Assert.Contains("registered as version 1", running.Stages[0].Message, StringComparison.Ordinal);
        Assert.Contains(_bed.Hub.Counters.RangeRequests, r => r.Range is { } range && !range.StartsWith("bytes=0-", StringComparison.Ordinal));

        // The downloaded model answers through the inference service (the generated MLP: 64 inputs, 10 outputs).
        var result = await second.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = "acme/mlp",
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new float[64], 1, 64) },
        });
        Assert.Equal([1, 10], result.Outputs.Values.Single().Shape.ToArray());
    }

    [Fact]
    public async Task DeployAsync_DownloadFailsItsHashCheck_DeploymentFailsWithTheReason()
    {
        _bed.Hub.Faults.CorruptFile(DownloadTestBed.Repo, "model.onnx");
        await using var provider = Build();
        await RestoreAsync(provider);
        var deployments = provider.GetRequiredService<IDeploymentManager>();
        await deployments.DeployAsync(Spec);
        using var timeout = new CancellationTokenSource(DownloadTestBed.Patience);
        var failed = await Assert.ThrowsAsync<DeploymentFailedException>(() => deployments.WaitUntilRunningAsync("from-hub", timeout.Token));
        Assert.Contains(ModelKitErrorCodes.IntegrityCheckFailed, failed.Message, StringComparison.Ordinal);
        var info = deployments.GetDeployment("from-hub");
        Assert.Equal((DeploymentState.Failed, DeploymentStageStatus.Failed), (info.State, info.Stages[0].Status));
        Assert.Null(await provider.GetRequiredService<ModelKit.Registry.IModelRegistry>().FindModelAsync("acme/mlp"));
    }

    [Fact]
    public async Task DeployAsync_UnknownRepository_FailsAtOnce_CreatingNothing()
    {
        await using var provider = Build();
        await RestoreAsync(provider);
        var deployments = provider.GetRequiredService<IDeploymentManager>();
        await Assert.ThrowsAsync<ModelNotFoundException>(() => deployments.DeployAsync(Spec with { ModelId = "acme/none", Source = new DownloadRequest { Source = "huggingface", ModelId = "acme/none" } }));
        Assert.Empty(deployments.ListDeployments());
        Assert.Equal(0, (await provider.GetRequiredService<IDownloadManager>().ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task StartAsync_AfterItsDownloadWasCancelled_IsAConflict()
    {
        _bed.Hub.Faults.BytesPerSecond = 20_000;
        await using var provider = Build();
        await RestoreAsync(provider);
        var deployments = provider.GetRequiredService<IDeploymentManager>();
        var info = await deployments.DeployAsync(Spec);
        var downloads = provider.GetRequiredService<IDownloadManager>();
        await DownloadTestBed.WaitForBytesAsync(downloads, info.DownloadTaskId!, 1);
        await downloads.CancelAsync(info.DownloadTaskId!);
        using var timeout = new CancellationTokenSource(DownloadTestBed.Patience);
        await Assert.ThrowsAsync<DeploymentFailedException>(() => deployments.WaitUntilRunningAsync("from-hub", timeout.Token));
        var refused = await Assert.ThrowsAsync<ModelKitConflictException>(() => deployments.StartAsync("from-hub"));
        Assert.Contains("was cancelled", refused.Message, StringComparison.Ordinal);

        // A second deployment of the same model while the first is active is refused before any download starts.
        _bed.Hub.Faults.BytesPerSecond = 0;
        await deployments.DeleteAsync("from-hub");
        await deployments.DeployAsync(Spec);
        var before = (await downloads.ListAsync(new DownloadQuery())).Total;
        await Assert.ThrowsAnyAsync<ModelKitException>(() => deployments.DeployAsync(Spec with { DeploymentId = "second" }));
        Assert.Equal(before, (await downloads.ListAsync(new DownloadQuery())).Total);
    }
}
