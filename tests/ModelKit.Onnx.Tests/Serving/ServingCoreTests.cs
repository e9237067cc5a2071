using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ModelKit.Backends;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.Onnx;
using ModelKit.Registry;
using ModelKit.Serving;
using ModelKit.Tensors;

namespace ModelKit.Tests.Serving;

/// <summary>The serving core over real ONNX Runtime sessions: what a served model runs, and when a run stops.</summary>
public sealed class ServingCoreTests : IAsyncDisposable
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(60); // only against hangs; nothing is timed
    private readonly TempDirectory _dir = new();
    private readonly ObservedBackend _backend = new(new OnnxBackend(Options.Create(new OnnxRuntimeOptions { IntraOpThreads = 1 })));
    private ServiceProvider? _provider;

    private ServiceProvider Start(TimeProvider? time = null)
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IInferenceBackend>(_backend);
        if (time is not null) services.AddSingleton(time);
        services.AddModelKit(o => o.DataDirectory = _dir.Path).ConfigureCache(c => c.MemoryLimitBytes = 1L << 30);
        return _provider = services.BuildServiceProvider();
    }

    private static Dictionary<string, Tensor> MlpInput() => new() { ["x"] = Tensor.Create(Enumerable.Range(0, 64).Select(i => MathF.Sin(i)).ToArray(), 1, 64) };

    private static Dictionary<string, Tensor> BertInput() => new()
    {
        ["input_ids"] = Tensor.Create(new long[] { 101, 7, 8, 9, 102, 0, 0, 0 }, 1, 8),
        ["attention_mask"] = Tensor.Create(new long[] { 1, 1, 1, 1, 1, 0, 0, 0 }, 1, 8),
        ["token_type_ids"] = Tensor.Create(new long[8], 1, 8),
    };

    [Fact]
    public async Task InferAsync_ModelDeletedAndRegisteredAgainWithAnotherModel_RunsTheNewModel()
    {
        var provider = Start();
        var registry = provider.GetRequiredService<IModelRegistry>();
        var inference = provider.GetRequiredService<IInferenceService>();
        await registry.RegisterFileAsync(new ModelDefinition { Id = "s", Name = "First an MLP" }, TestModels.Mlp);
        var mlp = await inference.InferAsync(new InferenceRequest { ModelId = "s", Inputs = MlpInput() });
        Assert.Equal(["logits"], mlp.Outputs.Keys);

        await registry.DeleteModelAsync("s");
        await registry.RegisterFileAsync(new ModelDefinition { Id = "s", Name = "Then an encoder" }, TestModels.BertTiny);

        var signature = await inference.GetSignatureAsync("s");
        Assert.Contains(signature!.Inputs, i => i.Name == "input_ids");
        var bert = await inference.InferAsync(new InferenceRequest { ModelId = "s", Inputs = BertInput() });
        Assert.Equal("1", bert.Version);
        Assert.Equal([1L, 8, 64], bert.Outputs["last_hidden_state"].Shape.ToArray());
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => inference.InferAsync(new InferenceRequest { ModelId = "s", Inputs = MlpInput() }));
        Assert.Contains("input_ids", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_DeployedModelForceDeletedAndRegisteredAgain_RunsTheNewModelNotTheCachedOne()
    {
        var provider = Start();
        var registry = provider.GetRequiredService<IModelRegistry>();
        var deployments = provider.GetRequiredService<IDeploymentManager>();
        var inference = provider.GetRequiredService<IInferenceService>();
        await registry.RegisterFileAsync(new ModelDefinition { Id = "s", Name = "First an MLP" }, TestModels.Mlp);
        var deployed = await deployments.DeployAsync(new DeploymentSpec { DeploymentId = "dep-s", ModelId = "s", MinReplicas = 0, Replicas = 1, MaxReplicas = 1 });
        await deployments.WaitUntilRunningAsync(deployed.DeploymentId).WaitAsync(HangGuard);
        Assert.Equal(["logits"], (await inference.InferAsync(new InferenceRequest { ModelId = "s", Inputs = MlpInput() })).Outputs.Keys);

        await registry.DeleteModelAsync("s", force: true);
        await deployments.StopAsync("dep-s").WaitAsync(HangGuard); // the forced delete stops it in the background; this waits for that
        Assert.Equal(DeploymentState.Stopped, deployments.GetDeployment("dep-s").State);
        await registry.RegisterFileAsync(new ModelDefinition { Id = "s", Name = "Then an encoder" }, TestModels.BertTiny);

        var bert = await inference.InferAsync(new InferenceRequest { ModelId = "s", Inputs = BertInput() });
        Assert.Equal([1L, 8, 64], bert.Outputs["last_hidden_state"].Shape.ToArray());
    }

    [Fact]
    public async Task InferAsync_EveryCallerOfARunningBatchTimedOut_TerminatesTheOnnxRuntimeRun()
    {
        var time = new FakeTimeProvider();
        var provider = Start(time);
        var registry = provider.GetRequiredService<IModelRegistry>();
        await registry.RegisterFileAsync(new ModelDefinition { Id = "slow", Name = "Seconds of compute" }, TestModels.SlowChain);
        var inference = provider.GetRequiredService<IInferenceService>();

        var call = inference.InferAsync(new InferenceRequest { ModelId = "slow", Inputs = SlowInput(), Timeout = TimeSpan.FromSeconds(1) });
        await _backend.RunStarted.Task.WaitAsync(HangGuard);
        time.Advance(TimeSpan.FromSeconds(2));

        await Assert.ThrowsAsync<InferenceTimeoutException>(() => call);
        Assert.Equal(RunEnd.Terminated, await _backend.RunEnded.Task.WaitAsync(HangGuard));
        Assert.Contains("terminated", _backend.EndMessage, StringComparison.Ordinal); // ORT stopped mid-run, not a run refused at entry

        // One instance: a small request runs only once the terminated batch is done with, so its stats are in.
        _backend.Reset();
        var small = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new float[1024], 1, 1024) };
        await inference.InferAsync(new InferenceRequest { ModelId = "slow", Inputs = small, Timeout = TimeSpan.FromMinutes(5) });
        Assert.Equal(1, provider.GetRequiredService<IModelRouter>().GetQueueStats()["slow:1"].Terminated);
    }

    [Fact]
    public async Task InferAsync_CallerWentAway_TerminatesTheOnnxRuntimeRunAndTheModelServesOn()
    {
        var provider = Start();
        var registry = provider.GetRequiredService<IModelRegistry>();
        await registry.RegisterFileAsync(new ModelDefinition { Id = "slow", Name = "Seconds of compute" }, TestModels.SlowChain);
        var inference = provider.GetRequiredService<IInferenceService>();

        using var disconnect = new CancellationTokenSource();
        var call = inference.InferAsync(new InferenceRequest { ModelId = "slow", Inputs = SlowInput() }, disconnect.Token);
        await _backend.RunStarted.Task.WaitAsync(HangGuard);
        await disconnect.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(RunEnd.Terminated, await _backend.RunEnded.Task.WaitAsync(HangGuard));
        Assert.Contains("terminated", _backend.EndMessage, StringComparison.Ordinal); // ORT stopped mid-run, not a run refused at entry

        // The session is still good: a small request runs to the end.
        _backend.Reset();
        var small = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new float[1024], 1, 1024) };
        var result = await inference.InferAsync(new InferenceRequest { ModelId = "slow", Inputs = small });
        Assert.Equal([1L, 1024], result.Outputs["y"].Shape.ToArray());
        Assert.Equal(RunEnd.Completed, await _backend.RunEnded.Task.WaitAsync(HangGuard));
    }

    private static Dictionary<string, Tensor> SlowInput()
    {
        var x = new float[512 * 1024];
        for (var i = 0; i < x.Length; i++) x[i] = MathF.Sin(i);
        return new Dictionary<string, Tensor> { ["x"] = Tensor.Create(x, 512, 1024) };
    }

    public async ValueTask DisposeAsync()
    {
        if (_provider is not null) await _provider.DisposeAsync();
        _dir.Dispose();
    }

    private enum RunEnd
    {
        Completed,
        Terminated,
    }

    // The real backend, with the start and the end of each run made observable.
    private sealed class ObservedBackend(IInferenceBackend inner) : IInferenceBackend
    {
        public string Framework => inner.Framework;

        public TaskCompletionSource RunStarted { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource<RunEnd> RunEnded { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>The message of the cancellation the last run ended with.</summary>
        public string? EndMessage { get; set; }

        public void Reset()
        {
            EndMessage = null;
            RunStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
            RunEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public async ValueTask<IModelSession> LoadAsync(ModelLoadRequest request, CancellationToken cancellationToken = default) =>
            new ObservedSession(this, await inner.LoadAsync(request, cancellationToken));

        private sealed class ObservedSession(ObservedBackend backend, IModelSession session) : IModelSession
        {
            public ModelSignature Signature => session.Signature;
            public ExecutionDevice Device => session.Device;
            public long MemoryBytes => session.MemoryBytes;
            public MemoryMeasurement MemoryMeasurement => session.MemoryMeasurement;

            public async ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> RunAsync(
                IReadOnlyList<IReadOnlyDictionary<string, Tensor>> requests, CancellationToken cancellationToken = default)
            {
                backend.RunStarted.TrySetResult();
                try
                {
                    var outputs = await session.RunAsync(requests, cancellationToken);
                    backend.RunEnded.TrySetResult(RunEnd.Completed);
                    return outputs;
                }
                catch (OperationCanceledException ex)
                {
                    backend.EndMessage = ex.Message;
                    backend.RunEnded.TrySetResult(RunEnd.Terminated);
                    throw;
                }
            }

            public void Dispose() => session.Dispose();
        }
    }
}
