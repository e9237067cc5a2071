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
        // The model loads on first use: a short generation first. Then two timed ones, so that the deadline below falls
        // mid-generation on any machine: after the generation has begun (a 2-token answer's time) and about a third of the
        // way through its 900 tokens (the time a token takes, from a 66-token answer).
        var client = new ModelService.ModelServiceClient(server.Invoker());
        Assert.Equal(2, (await GenerateAsync(client, 2)).Tokens);
        var (twoTokens, shortTime) = await GenerateAsync(client, 2);
        var (moreTokens, longerTime) = await GenerateAsync(client, 66);
        Assert.Equal((2, 66), (twoTokens, moreTokens));
        var perToken = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond / 20, (longerTime - shortTime).Ticks / 64));
        var deadline = shortTime + (perToken * 300);

        var factory = server.Services.GetRequiredService<IMeterFactory>();
        var sequences = 0;
        var generated = 0L;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name is ModelKitTelemetry.GenerationSequences or ModelKitTelemetry.GenerationTokens) l.EnableMeasurementEvents(instrument);
            },
        };
        listener.SetMeasurementEventCallback<int>((_, value, _, _) =>
        {
            var now = Interlocked.Add(ref sequences, value);
            if (value > 0) started.TrySetResult();
            if (now == 0 && started.Task.IsCompleted) drained.TrySetResult();
        });
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: ModelKitTelemetry.TokenTypeTag, Value: "completion" }) Interlocked.Add(ref generated, value);
            }
        });
        listener.Start();

        // The random decoder writes up to its whole context without stopping: 900 tokens take about three times the deadline.
        var request = new ChatCompletionRequest { ModelId = RandomDecoderServer.Model, Messages = { new Message { Role = "user", Content = "x" } }, MaxTokens = 900, Temperature = 0 };
        var error = await Assert.ThrowsAsync<RpcException>(() => client.CreateChatCompletionAsync(request, deadline: DateTime.UtcNow + deadline).ResponseAsync);
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);

        await started.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the generation had begun …
        await drained.Task.WaitAsync(TimeSpan.FromSeconds(30)); // … and its sequence left the batch
        Assert.InRange(Interlocked.Read(ref generated), 1, 899);
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
