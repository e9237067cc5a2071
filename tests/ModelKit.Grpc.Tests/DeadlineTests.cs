using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Diagnostics;
using ModelKit.Grpc.Model;
using ModelKit.Registry;
using ModelKit.Tests;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// A deadline that passes while the server works: the call ends DEADLINE_EXCEEDED and the generation itself stops (its
/// sequence leaves the engine's batch long before its max_tokens), seen through the server's own meter.
/// </summary>
public sealed class DeadlineTests(DeadlineTests.RandomDecoderServer server) : IClassFixture<DeadlineTests.RandomDecoderServer>
{
    [Fact]
    public async Task CreateChatCompletion_DeadlinePassingMidGeneration_StopsTheGeneration()
    {
        // The server's generation, seen through its own meter from before the first request.
        using var meter = new GenerationMeter(server.Services.GetRequiredService<IMeterFactory>());

        // The model loads on first use: a short generation first. Then timed ones (the quickest of three each), so that
        // the deadline below falls mid-generation on any machine: after the generation has begun (a 2-token answer's
        // time) and about a third of the way through its 900 tokens (the time a token takes, from 66-token answers).
        var client = new ModelService.ModelServiceClient(server.Invoker());
        Assert.Equal(2, (await GenerateAsync(client, 2)).Tokens);
        var shortTime = TimeSpan.MaxValue;
        var longerTime = TimeSpan.MaxValue;
        for (var i = 0; i < 3; i++)
        {
            var (twoTokens, took) = await GenerateAsync(client, 2);
            var (moreTokens, tookLonger) = await GenerateAsync(client, 66);
            Assert.Equal((2, 66), (twoTokens, moreTokens));
            shortTime = took < shortTime ? took : shortTime;
            longerTime = tookLonger < longerTime ? tookLonger : longerTime;
        }

        var perToken = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond / 20, (longerTime - shortTime).Ticks / 64));
        var deadline = shortTime + (perToken * 300);
        await meter.SettleAsync(TimeSpan.FromMilliseconds(200)); // the timed answers' sequences counted out
        meter.Watch();

        // The random decoder writes up to its whole context without stopping: 900 tokens take about three times the deadline.
        var request = new ChatCompletionRequest { ModelId = RandomDecoderServer.Model, Messages = { new Message { Role = "user", Content = "x" } }, MaxTokens = 900, Temperature = 0 };
        var error = await Assert.ThrowsAsync<RpcException>(() => client.CreateChatCompletionAsync(request, deadline: DateTime.UtcNow + deadline).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);

        await meter.Started.WaitAsync(TimeSpan.FromSeconds(30)); // the generation had begun …
        await meter.Left.WaitAsync(TimeSpan.FromSeconds(30)); // … and its sequence left the batch
        Assert.InRange(meter.Generated, 1, 899);
    }

    private static async Task<(int Tokens, TimeSpan Took)> GenerateAsync(ModelService.ModelServiceClient client, int maxTokens)
    {
        var stopwatch = Stopwatch.StartNew();
        var answer = await client.CreateChatCompletionAsync(new ChatCompletionRequest { ModelId = RandomDecoderServer.Model, Messages = { new Message { Role = "user", Content = "x" } }, MaxTokens = maxTokens, Temperature = 0 });
        return (answer.Usage.CompletionTokens, stopwatch.Elapsed);
    }

    /// <summary>The sample server with a generated GPT-2-style decoder of random weights registered (it rarely ends by itself).</summary>
    public sealed class RandomDecoderServer : GrpcSampleServer, IAsyncLifetime
    {
        public const string Model = "random-gpt2";

        private readonly TempDirectory _files = new();

        public async Task InitializeAsync()
        {
            var directory = ModelKit.ModelGenerator.DecoderModels.WriteGpt2DecoderDirectory(_files.Path);
            await Services.GetRequiredService<IModelRegistry>().RegisterAsync(
                new ModelDefinition { Id = Model, Name = "Random GPT-2", Task = "text-generation" },
                [.. ModelKit.ModelGenerator.DecoderModels.DirectoryFiles.Select(name => ArtifactSource.FromFile(name, Path.Combine(directory, name)))]);
        }

        Task IAsyncLifetime.DisposeAsync()
        {
            _files.Dispose();
            return Task.CompletedTask;
        }
    }
}
