using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelKit.Backends;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests.Inference;

public sealed class InferenceJobServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();
    private readonly FakeTimeProvider _time = new();
    private ServiceProvider _provider = null!;

    private IInferenceJobService Jobs => _provider.GetRequiredService<IInferenceJobService>();

    public Task InitializeAsync() => StartAsync(_ => { });

    private async Task StartAsync(Action<InferenceJobOptions> configure)
    {
        if (_provider is not null) await _provider.DisposeAsync();
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IInferenceBackend>(_backend);
        services.AddSingleton<TimeProvider>(_time);
        services.AddModelKit(o => o.DataDirectory = _dir.Path)
            .ConfigureJobs(configure)
            .ConfigureInference(o => o.DefaultBatching = new() { MaxBatchSize = 1 });
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        var registry = _provider.GetRequiredService<IModelRegistry>();
        if (await registry.FindModelAsync("double") is null)
        {
            await registry.RegisterAsync(new ModelDefinition { Id = "double", Name = "Doubler" }, new MemoryStream(Encoding.UTF8.GetBytes("model")), "m.onnx");
        }
    }

    private static InferenceRequest Request(float value) => new()
    {
        ModelId = "double",
        Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create([value, value], 1, 2) },
    };

    [Fact]
    public async Task SubmitAsync_ReturnsAtOnce_AndTheResultArrivesLater()
    {
        _backend.RunGate = new SemaphoreSlim(0);
        var submitted = await Jobs.SubmitAsync(Request(5) with { Version = "1" });
        Assert.StartsWith("job-", submitted.JobId, StringComparison.Ordinal);
        Assert.Contains(submitted.Status, new[] { InferenceJobStatus.Queued, InferenceJobStatus.Running });
        Assert.Null(submitted.Result);
        Assert.True(await _backend.RunStarted.WaitAsync(Wait));
        Assert.Equal(InferenceJobStatus.Running, Jobs.GetJob(submitted.JobId).Status);

        _backend.RunGate.Release();
        var done = await Jobs.WaitAsync(submitted.JobId).WaitAsync(Wait);
        Assert.Equal(InferenceJobStatus.Succeeded, done.Status);
        Assert.True(done.IsCompleted);
        Assert.Equal(("double", "1"), (done.ModelId, done.Version));
        Assert.Equal([10f, 10f], done.Result!.Outputs["y"].ToArray<float>());
        Assert.NotNull(done.StartedAt);
        Assert.Equal(done.CompletedAt + TimeSpan.FromHours(1), done.ExpiresAt);
        Assert.Single(Jobs.ListJobs(InferenceJobStatus.Succeeded));
    }

    [Fact]
    public async Task SubmitAsync_BadRequests_AreRefusedAtOnceAndLeaveNoJob()
    {
        await Assert.ThrowsAsync<ModelNotFoundException>(() => Jobs.SubmitAsync(Request(1) with { ModelId = "ghost" }));
        var invalid = await Assert.ThrowsAsync<InvalidInputException>(() => Jobs.SubmitAsync(Request(1) with
        {
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new long[2], 1, 2) },
        }));
        Assert.Contains("input 'x' expects float32[?,2], got int64[1,2]", invalid.Message, StringComparison.Ordinal);
        Assert.Empty(Jobs.ListJobs());
        Assert.Empty(_backend.Batches);
        Assert.Throws<JobNotFoundException>(() => Jobs.GetJob("job-nope"));
        Assert.Throws<JobNotFoundException>(() => Jobs.Cancel("job-nope"));
    }

    [Fact]
    public async Task Cancel_QueuedJobNeverReachesTheModel_RunningJobStopsWaiting()
    {
        await StartAsync(o => o.MaxConcurrentJobs = 1);
        _backend.RunGate = new SemaphoreSlim(0);
        var running = await Jobs.SubmitAsync(Request(1));
        Assert.True(await _backend.RunStarted.WaitAsync(Wait));
        var queued = await Jobs.SubmitAsync(Request(2));
        Assert.Equal(InferenceJobStatus.Queued, Jobs.GetJob(queued.JobId).Status);

        Jobs.Cancel(queued.JobId);
        Assert.Equal(InferenceJobStatus.Cancelled, (await Jobs.WaitAsync(queued.JobId).WaitAsync(Wait)).Status);
        Jobs.Cancel(running.JobId);
        var cancelled = await Jobs.WaitAsync(running.JobId).WaitAsync(Wait);
        Assert.Equal(InferenceJobStatus.Cancelled, cancelled.Status);
        Assert.Null(cancelled.Result);

        _backend.RunGate.Release(10);
        var next = await Jobs.WaitAsync((await Jobs.SubmitAsync(Request(3))).JobId).WaitAsync(Wait);
        Assert.Equal(InferenceJobStatus.Succeeded, next.Status);
        Assert.DoesNotContain(2f, _backend.RunOrder);
        Assert.Equal(InferenceJobStatus.Succeeded, Jobs.Cancel(next.JobId).Status); // finished jobs stay as they are
    }

    [Fact]
    public async Task FailingJob_ReportsTheErrorCodeAndMessage()
    {
        var job = await Jobs.SubmitAsync(Request(float.NaN));
        var failed = await Jobs.WaitAsync(job.JobId).WaitAsync(Wait);
        Assert.Equal(InferenceJobStatus.Failed, failed.Status);
        Assert.Equal(ModelKitErrorCodes.InferenceFailed, failed.ErrorCode);
        Assert.Contains("NaN input", failed.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retention_ForgetsFinishedJobsAfterTheirTime_AndTheOldestBeyondTheLimit()
    {
        await StartAsync(o => { o.Retention = TimeSpan.FromMinutes(1); o.MaxJobs = 3; });
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var job = await Jobs.SubmitAsync(Request(i));
            await Jobs.WaitAsync(job.JobId).WaitAsync(Wait);
            ids.Add(job.JobId);
            _time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(ids.Skip(2).Reverse(), Jobs.ListJobs().Select(j => j.JobId));
        Assert.Throws<JobNotFoundException>(() => Jobs.GetJob(ids[0]));

        _time.Advance(TimeSpan.FromMinutes(1));
        var expired = Assert.Throws<JobNotFoundException>(() => Jobs.GetJob(ids[4]));
        Assert.Contains("expired", expired.Message, StringComparison.Ordinal);
        Assert.Empty(Jobs.ListJobs());
    }

    [Fact]
    public async Task SubmitAsync_WhenEveryJobSlotIsUnfinished_RejectsWithQueueFull()
    {
        await StartAsync(o => { o.MaxJobs = 2; o.MaxConcurrentJobs = 1; });
        _backend.RunGate = new SemaphoreSlim(0);
        await Jobs.SubmitAsync(Request(1));
        await Jobs.SubmitAsync(Request(2));
        var full = await Assert.ThrowsAsync<QueueFullException>(() => Jobs.SubmitAsync(Request(3)));
        Assert.Equal(ModelKitErrorCodes.QueueFull, full.ErrorCode);
        Assert.True(full.RetryAfter > TimeSpan.Zero);
        _backend.RunGate.Release(10);
    }

    public async Task DisposeAsync()
    {
        _backend.RunGate?.Release(1000);
        await _provider.DisposeAsync();
        _dir.Dispose();
    }
}
