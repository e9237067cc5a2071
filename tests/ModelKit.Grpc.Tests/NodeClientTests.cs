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
/// NOT_FOUND, a streamed chat completion (seed 001's ModelService), gRPC health.
/// </summary>
public sealed class NodeClientTests(NodeClientTests.ChatServer server) : IClassFixture<NodeClientTests.ChatServer>
{
    private static readonly string NodeDirectory = Path.Combine(RepositoryRoot.Path, "tests", "ModelKit.Grpc.Tests", "node");

    [Fact]
    public async Task NodeGrpcJs_WithTheShippedProtos_InfersAndChecksHealth()
    {
        await server.WaitUntilRunningAsync("demo-mlp");
        await server.WaitUntilRunningAsync("gpt2-gettysburg");
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

        // The stream, compared with the same chat through the in-process service (greedy: the same text).
        var chat = checks["ChatStream"];
        var whole = await server.Services.GetRequiredService<ModelKit.Text.ITextGenerationService>().GenerateAsync(new ModelKit.Text.TextGenerationRequest
        {
            ModelId = "gpt2-gettysburg",
            Messages = [new("user", "Four score and seven years ago")],
            MaxTokens = 12,
            Temperature = 0,
        });
        Assert.True(chat.GetProperty("chunks").GetInt32() > 2, "the answer should arrive in several chunks: " + chat);
        Assert.Equal(whole.Choices[0].Text, chat.GetProperty("text").GetString());
        Assert.Equal("assistant", chat.GetProperty("role").GetString());
        Assert.Equal(whole.Choices[0].FinishReason, chat.GetProperty("finish").GetString());
        Assert.Equal(whole.Usage.CompletionTokens, chat.GetProperty("completion_tokens").GetInt32());
    }

    /// <summary>The sample server with its generated chat model.</summary>
    public sealed class ChatServer : GrpcSampleServer
    {
        protected override bool ServeChatModel => true;
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
