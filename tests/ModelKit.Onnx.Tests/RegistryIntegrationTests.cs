using Microsoft.Extensions.DependencyInjection;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests;

/// <summary>The registry's layouts through real ONNX Runtime: a model whose weights are ONNX external data, and the first release's data directory.</summary>
public sealed class RegistryIntegrationTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private ServiceProvider? _provider;

    private ServiceProvider Provider => _provider ??= CreateProvider();

    private IModelRegistry Registry => Provider.GetRequiredService<IModelRegistry>();

    private ServiceProvider CreateProvider()
    {
        var services = new ServiceCollection().AddLogging().AddMetrics();
        services.AddModelKit(o => o.DataDirectory = _dir.Path)
            .AddOnnxRuntime(o => o.IntraOpThreads = 1)
            .ConfigureCache(c => c.MemoryLimitBytes = 1L << 30);
        return services.BuildServiceProvider();
    }

    private static Dictionary<string, Tensor> Input() => new() { ["x"] = Tensor.Create(Enumerable.Range(0, 64).Select(i => MathF.Sin(i)).ToArray(), 1, 64) };

    private async Task<float[]> InferAsync(string modelId) =>
        (await Provider.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest { ModelId = modelId, Inputs = Input() })).Outputs["logits"].ToArray<float>();

    [Fact]
    public async Task RegisterAsync_ModelWithExternalData_LoadsFromTwoFilesAndInfersLikeTheSingleFileModel()
    {
        var external = DemoModels.CreateMlpWithExternalData("mlp.onnx.data");
        Assert.True(external.Model.Length < external.Data.Length / 10, "the weights should be in the data file");
        await Registry.RegisterFileAsync(new ModelDefinition { Id = "mlp", Name = "MLP in one file" }, TestModels.Mlp);

        var model = await Registry.RegisterAsync(
            new ModelDefinition { Id = "org/mlp-external", Name = "MLP with external data" },
            [new ArtifactSource("mlp.onnx.data", new MemoryStream(external.Data)), new ArtifactSource("mlp.onnx", new MemoryStream(external.Model))],
            primaryFile: "mlp.onnx");

        var version = model.Versions.Single();
        Assert.Equal((ModelVersionStatus.Ready, "mlp.onnx"), (version.Status, version.Files[0].Name));
        Assert.Equal(["x"], version.Signature!.Inputs.Select(i => i.Name));
        await Registry.VerifyArtifactsAsync(version);
        var expected = await InferAsync("mlp");
        var actual = await InferAsync("org/mlp-external");
        Assert.Equal(10, actual.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 5);
    }

    [Fact]
    public async Task InferAsync_MultiFileVersionDeletedAndRegisteredAgainWithOtherWeights_RunsTheNewWeights()
    {
        // The version's folder is named by id and version, not content: only the content id keeps the old session out.
        var first = DemoModels.CreateMlpWithExternalData("mlp.onnx.data", new MlpSpec { Seed = 42 });
        var second = DemoModels.CreateMlpWithExternalData("mlp.onnx.data", new MlpSpec { Seed = 43 });
        await Registry.RegisterFileAsync(new ModelDefinition { Id = "mlp", Name = "MLP, seed 42" }, TestModels.Mlp);
        await Registry.RegisterFileAsync(new ModelDefinition { Id = "mlp-v2", Name = "MLP, seed 43" }, TestModels.MlpV2);
        var expectedFirst = await InferAsync("mlp");
        var expectedSecond = await InferAsync("mlp-v2");
        Assert.NotEqual(expectedFirst, expectedSecond);

        // Deployed, then force-deleted: stopping the deployment unpins its cache entry but leaves it loaded.
        await RegisterExternalAsync(first);
        var deployments = Provider.GetRequiredService<Deployments.IDeploymentManager>();
        await deployments.DeployAsync(new Deployments.DeploymentSpec { DeploymentId = "dep-m", ModelId = "org/m", MinReplicas = 0, Replicas = 1, MaxReplicas = 1 });
        await deployments.WaitUntilRunningAsync("dep-m").WaitAsync(TimeSpan.FromSeconds(60));
        var before = await InferAsync("org/m");
        for (var i = 0; i < before.Length; i++) Assert.Equal(expectedFirst[i], before[i], 5);

        await Registry.DeleteModelAsync("org/m", force: true);
        await deployments.StopAsync("dep-m").WaitAsync(TimeSpan.FromSeconds(60)); // waits for the stop the forced delete began
        Assert.Contains(Provider.GetRequiredService<Caching.IModelCache>().GetStats().Entries, e => e.Key.ModelId == "org/m");
        await RegisterExternalAsync(second);
        var after = await InferAsync("org/m");
        for (var i = 0; i < after.Length; i++) Assert.Equal(expectedSecond[i], after[i], 5);

        Task RegisterExternalAsync(ExternalDataModel model) => Registry.RegisterAsync(
            new ModelDefinition { Id = "org/m", Name = "MLP with external data" },
            [new ArtifactSource("mlp.onnx.data", new MemoryStream(model.Data)), new ArtifactSource("mlp.onnx", new MemoryStream(model.Model))],
            primaryFile: "mlp.onnx");
    }

    [Fact]
    public async Task RegisterAsync_ModelWithoutItsExternalData_IsRejectedWithoutServerPaths()
    {
        var external = DemoModels.CreateMlpWithExternalData("mlp.onnx.data");
        var error = await Assert.ThrowsAsync<InvalidModelConfigException>(() => Registry.RegisterAsync(
            new ModelDefinition { Id = "incomplete", Name = "No data file" }, [new ArtifactSource("mlp.onnx", new MemoryStream(external.Model))]));

        Assert.Contains("'mlp.onnx'", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_dir.Path, error.Message, StringComparison.Ordinal);
        Assert.Null(await Registry.FindModelAsync("incomplete"));
    }

    [Fact]
    public async Task Start_DataDirectoryOfTheFirstRelease_ServesItsModels()
    {
        var legacy = new LegacyRegistryLayout(_dir.Path);
        legacy.AddModel("mlp", "MLP", defaultVersion: "1");
        legacy.AddReadyVersion("mlp", "1", 1, "mlp.onnx", await File.ReadAllBytesAsync(TestModels.Mlp));

        var actual = await InferAsync("mlp");
        var version = (await Registry.GetModelAsync("mlp")).Versions.Single();
        Assert.Equal(ModelVersionStatus.Ready, version.Status);
        await Registry.VerifyArtifactsAsync(version);
        await Registry.RegisterFileAsync(new ModelDefinition { Id = "mlp-now", Name = "MLP registered today" }, TestModels.Mlp);
        Assert.Equal(await InferAsync("mlp-now"), actual);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_provider is not null) await _provider.DisposeAsync();
        _dir.Dispose();
    }
}
