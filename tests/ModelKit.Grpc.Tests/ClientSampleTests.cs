using System.Diagnostics;
using ModelKit.Tests;

namespace ModelKit.Grpc.Tests;

/// <summary>samples/ModelKit.GrpcClientSample, run as built, against the sample server's h2c endpoint.</summary>
public sealed class ClientSampleTests(GrpcSampleServer server) : IClassFixture<GrpcSampleServer>
{
    [Fact]
    public async Task GrpcClientSample_DescribesInfersAndReportsAnUnknownModel()
    {
        await server.WaitUntilRunningAsync("demo-mlp");
        var configuration = typeof(ClientSampleTests).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyConfigurationAttribute), false)
            .OfType<System.Reflection.AssemblyConfigurationAttribute>().Single().Configuration;
        var dll = Path.Combine(RepositoryRoot.Path, "samples", "ModelKit.GrpcClientSample", "bin", configuration, "net10.0", "ModelKit.GrpcClientSample.dll");
        Assert.True(File.Exists(dll), $"{dll} was not built");

        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(dll);
        start.ArgumentList.Add(server.Address.ToString());
        start.ArgumentList.Add(GrpcSampleServer.AdminKey);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        var text = await output;
        Assert.True(process.ExitCode == 0, text + await error);
        Assert.Contains("server: modelkit ", text, StringComparison.Ordinal);
        Assert.Contains("demo-mlp (onnxruntime_onnx): input x FP32 [-1, 64] → output logits", text, StringComparison.Ordinal);
        Assert.Contains("ModelInfer sample-1: demo-mlp v1, 10 logits, the largest at class ", text, StringComparison.Ordinal);
        Assert.Contains("unknown model: NotFound (", text, StringComparison.Ordinal);
    }
}
