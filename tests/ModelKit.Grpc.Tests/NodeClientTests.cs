using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Inference;
using ModelKit.Tensors;
using ModelKit.Tests;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// A client not written in C#: Node's @grpc/grpc-js with @grpc/proto-loader (pinned in node/package-lock.json, installed
/// with npm ci) loads only the shipped .proto files and drives the server (node/client.js): raw-contents inference, a
/// NOT_FOUND, gRPC health.
/// </summary>
public sealed class NodeClientTests(GrpcSampleServer server) : IClassFixture<GrpcSampleServer>
{
    private static readonly string NodeDirectory = Path.Combine(RepositoryRoot.Path, "tests", "ModelKit.Grpc.Tests", "node");

    [Fact]
    public async Task NodeGrpcJs_WithTheShippedProtos_InfersAndChecksHealth()
    {
        await server.WaitUntilRunningAsync("demo-mlp");
        if (!Directory.Exists(Path.Combine(NodeDirectory, "node_modules", "@grpc", "grpc-js")))
        {
            var (installed, log) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(5));
            Assert.True(installed == 0, "npm ci failed: " + log);
        }

        var protos = Path.Combine(RepositoryRoot.Path, "src", "ModelKit.Grpc", "Protos");
        var health = Path.Combine(RepositoryRoot.Path, "tests", "ModelKit.Grpc.Tests", "Protos", "health.proto");
        var (exit, output) = await RunAsync("node", ["client.js", $"{server.Address.Host}:{server.Address.Port}", GrpcSampleServer.AdminKey, protos, health], TimeSpan.FromMinutes(2));
        Assert.True(exit == 0, "the Node client failed: " + output);

        var checks = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement)
            .ToDictionary(e => e.GetProperty("check").GetString()!);
        var infer = checks["ModelInfer"];
        Assert.Equal(("node-1", "logits", "FP32"), (infer.GetProperty("id").GetString(), infer.GetProperty("output").GetString(), infer.GetProperty("datatype").GetString()));
        var row = Enumerable.Range(0, 64).Select(i => (float)(Math.Sin(i) * 0.5)).ToArray();
        var expected = await server.Services.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = "demo-mlp",
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(row, 1, 64) },
        });
        Assert.Equal(expected.Outputs["logits"].ToArray<float>(), infer.GetProperty("logits").EnumerateArray().Select(v => v.GetSingle()));
        Assert.Equal(5, checks["NotFound"].GetProperty("code").GetInt32()); // NOT_FOUND
        Assert.Equal("SERVING", checks["Health"].GetProperty("status").GetString());
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] arguments, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = NodeDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
