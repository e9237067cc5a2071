using Microsoft.Extensions.DependencyInjection;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests;

/// <summary>
/// The CUDA path on a real GPU. Runs where an NVIDIA driver is present and <c>MODELKIT_CUDA_PROVIDER_LIBRARY</c> names
/// ONNX Runtime's CUDA provider library (see docs/gpu.md); skipped with that reason elsewhere.
/// </summary>
public sealed class CudaTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();

    private static string? ProviderLibrary => Environment.GetEnvironmentVariable("MODELKIT_CUDA_PROVIDER_LIBRARY");

    public Task InitializeAsync() => Task.CompletedTask;

    [SkippableFact]
    public async Task Deployment_OnCuda0_ServesTheSameOutputsAsTheCpu()
    {
        Skip.IfNot(File.Exists("/proc/driver/nvidia/version"), "No NVIDIA GPU on this machine (no /proc/driver/nvidia/version).");
        Skip.If(string.IsNullOrEmpty(ProviderLibrary) || !File.Exists(ProviderLibrary),
            "MODELKIT_CUDA_PROVIDER_LIBRARY does not name ONNX Runtime's CUDA provider library (libonnxruntime_providers_cuda.so).");

        var services = new ServiceCollection().AddLogging();
        services.AddModelKit(o => o.DataDirectory = _dir.Path)
            .AddOnnxRuntime(o => o.ExecutionProviderLibraryPath = ProviderLibrary)
            .ConfigureInference(o => o.ServeUndeployedModels = false);
        await using var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<IModelRegistry>().RegisterFileAsync(new ModelDefinition { Id = "mlp", Name = "MLP" }, TestModels.Mlp);
        var deployments = provider.GetRequiredService<IDeploymentManager>();
        await deployments.DeployAsync(new DeploymentSpec { DeploymentId = "gpu", ModelId = "mlp", Device = "cuda:0" });
        var info = await deployments.WaitUntilRunningAsync("gpu").WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal("cuda:0", info.Device);

        var x = Tensor.Create(Enumerable.Range(0, 64).Select(i => MathF.Sin(i)).ToArray(), 1, 64);
        var gpu = (await provider.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = "mlp",
            Inputs = new Dictionary<string, Tensor> { ["x"] = x },
        })).Outputs["logits"].ToArray<float>();

        var cpuBackend = new Onnx.OnnxBackend(Microsoft.Extensions.Options.Options.Create(new Onnx.OnnxRuntimeOptions()));
        using var cpu = await cpuBackend.LoadAsync(new Backends.ModelLoadRequest(TestModels.Mlp));
        var expected = (await cpu.RunAsync([new Dictionary<string, Tensor> { ["x"] = x }]))[0]["logits"].ToArray<float>();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], gpu[i], 3);
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
