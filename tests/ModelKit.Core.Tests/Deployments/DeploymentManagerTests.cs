using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Tensors;

namespace ModelKit.Tests.Deployments;

public sealed class DeploymentManagerTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly BatchingOptions OneAtATime = new() { MaxBatchSize = 1 };
    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();
    private ServiceProvider _provider = null!;

    private IDeploymentManager Deployments => _provider.GetRequiredService<IDeploymentManager>();

    private IInferenceService Service => _provider.GetRequiredService<IInferenceService>();

    private IModelRegistry Registry => _provider.GetRequiredService<IModelRegistry>();

    private IModelCache Cache => _provider.GetRequiredService<IModelCache>();

    public Task InitializeAsync() => StartAsync();

    private async Task StartAsync(Action<DeploymentOptions>? deployments = null, Action<InferenceOptions>? inference = null, TimeProvider? time = null)
    {
        if (_provider is not null) await _provider.DisposeAsync();
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IInferenceBackend>(_backend);
        if (time is not null) services.AddSingleton(time);
        services.AddModelKit(o => o.DataDirectory = _dir.Path)
            .ConfigureCache(c => c.MemoryLimitBytes = 1 << 20)
            .ConfigureDeployments(o => deployments?.Invoke(o))
            .ConfigureInference(o => inference?.Invoke(o));
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        if (await Registry.FindModelAsync("double") is null)
        {
            await Registry.RegisterAsync(new ModelDefinition { Id = "double", Name = "Doubler" }, Content("model v1"), "m.onnx");
            await Registry.AddVersionAsync("double", "2", Content("triple: model v2"), "m.onnx");
            await Registry.UpdateModelAsync("double", new ModelUpdate { DefaultVersion = "1" });
        }
    }

    private static MemoryStream Content(string text) => new(Encoding.UTF8.GetBytes(text));

    private static InferenceRequest Request(float value, string model = "double") => new()
    {
        ModelId = model,
        Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create([value, value], 1, 2) },
    };

    // Callers run off the test's thread, so a run held at the backend's gate never blocks the test (even with inline execution).
    private Task<InferenceResult> InferInBackground(InferenceRequest request) => Task.Run(() => Service.InferAsync(request));

    private int QueueLength(string deploymentId) => Deployments.GetDeployment(deploymentId).Queue?.QueueLength ?? -1;

    private async Task<DeploymentInfo> DeployRunningAsync(DeploymentSpec spec)
    {
        var pending = await Deployments.DeployAsync(spec);
        var info = await Deployments.WaitUntilRunningAsync(pending.DeploymentId).WaitAsync(Wait);
        while (_backend.RunStarted.Wait(0))
        {
            // Forget the warm-up run so tests count only their own.
        }

        return info;
    }

    private static async Task EventuallyAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(10);
        }
    }

    private async Task WaitForRunsAsync(int count)
    {
        for (var i = 0; i < count; i++) Assert.True(await _backend.RunStarted.WaitAsync(Wait), $"run {i + 1} of {count} did not start");
    }

    [Fact]
    public async Task DeployAsync_GoesThroughItsStages_AndServesTheModelsRequests()
    {
        var pending = await Deployments.DeployAsync(new DeploymentSpec { DeploymentId = "dep-double", ModelId = "double", Replicas = 2 });
        Assert.Contains(pending.State, new[] { DeploymentState.Pending, DeploymentState.Loading, DeploymentState.Running });

        var info = await Deployments.WaitUntilRunningAsync("dep-double").WaitAsync(Wait);
        Assert.Equal(DeploymentState.Running, info.State);
        Assert.Equal("1", info.Version);
        Assert.Equal("cpu", info.Device);
        Assert.Equal((2, 2), (info.DesiredReplicas, info.ReadyReplicas));
        Assert.Equal(100, info.Progress);
        Assert.Null(info.CurrentStage);
        Assert.Equal(DeploymentManager.StageNames, info.Stages.Select(s => s.Name));
        Assert.All(info.Stages, s => Assert.Equal(DeploymentStageStatus.Completed, s.Status));
        Assert.True(info.Pinned);
        Assert.Contains(Cache.GetStats().Entries, e => e.Key.ModelId == "double" && e.Pinned);
        Assert.Equal(3, _backend.Loads); // two checks at registration, one load for the deployment
        Assert.Equal(2, _backend.LoadRequests.Last().ConcurrentRuns); // the backend may split the cores between the 2 replicas
        Assert.Equal([0f], _backend.RunOrder); // the warm-up ran zeros

        var result = await Service.InferAsync(Request(4));
        Assert.Equal([8f, 8f], result.Outputs["y"].ToArray<float>());
        Assert.Equal(1, _provider.GetRequiredService<ModelKit.Serving.IModelRouter>().GetQueueStats()["dep-double"].Succeeded);
        Assert.Equal(1, _provider.GetRequiredService<ModelKit.Serving.IModelRouter>().GetQueueStats("double").Succeeded); // the model's queues, summed
        Assert.Equal(0, _provider.GetRequiredService<ModelKit.Serving.IModelRouter>().GetQueueStats("other").Enqueued);
        Assert.Contains(Deployments.GetLogs("dep-double"), l => l.Message.Contains("Running with 2 replica(s)", StringComparison.Ordinal));
        Assert.Equal("dep-double", Deployments.FindByModel("double")?.DeploymentId);
        Assert.Single(Deployments.ListDeployments(DeploymentState.Running));
        Assert.Empty(Deployments.ListDeployments(DeploymentState.Stopped));
    }

    [Fact]
    public async Task DeployAsync_BadSpecs_AreRefusedWithTheirCodeAndLeaveNothing()
    {
        await Assert.ThrowsAsync<ModelNotFoundException>(() => Deployments.DeployAsync(new DeploymentSpec { ModelId = "ghost" }));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => Deployments.DeployAsync(new DeploymentSpec { ModelId = "double", Version = "9" }));
        var bounds = await Assert.ThrowsAsync<InvalidModelConfigException>(() => Deployments.DeployAsync(new DeploymentSpec { ModelId = "double", Replicas = 5, MaxReplicas = 3 }));
        Assert.Contains("'replicas' (5) must lie between the bounds 1..3", bounds.Message, StringComparison.Ordinal);
        var device = await Assert.ThrowsAsync<InvalidModelConfigException>(() => Deployments.DeployAsync(new DeploymentSpec { ModelId = "double", Device = "tpu" }));
        Assert.Contains("Device 'tpu' is not valid", device.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidModelConfigException>(() => Deployments.DeployAsync(new DeploymentSpec { ModelId = "double", DeploymentId = "a/b" }));
        var memory = await Assert.ThrowsAsync<InsufficientResourcesException>(() => Deployments.DeployAsync(new DeploymentSpec { ModelId = "double", MemoryRequestBytes = 2 << 20 }));
        Assert.Contains("does not fit", memory.Message, StringComparison.Ordinal);
        Assert.Empty(Deployments.ListDeployments());

        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "first", ModelId = "double" });
        var twice = await Assert.ThrowsAsync<ModelKitConflictException>(() => Deployments.DeployAsync(new DeploymentSpec { ModelId = "double" }));
        Assert.Contains("already deployed as 'first'", twice.Message, StringComparison.Ordinal);
        Assert.Single(Deployments.ListDeployments());
        Assert.Throws<DeploymentNotFoundException>(() => Deployments.GetDeployment("nope"));
    }

    [Fact]
    public async Task DeployAsync_ArtifactDamagedOnDisk_FailsWithModelUnavailableAndTheFailedStage()
    {
        var broken = await Registry.RegisterAsync(new ModelDefinition { Id = "broken", Name = "Broken" }, Content("model"), "b.onnx");
        await File.WriteAllTextAsync(broken.Versions[0].Files[0].Path, "bad: damaged on disk");

        var pending = await Deployments.DeployAsync(new DeploymentSpec { DeploymentId = "dep-broken", ModelId = "broken" });
        var error = await Assert.ThrowsAsync<DeploymentFailedException>(() => Deployments.WaitUntilRunningAsync(pending.DeploymentId).WaitAsync(Wait));
        Assert.Contains("does not match its recorded sha256", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_dir.Path, error.Message, StringComparison.Ordinal);

        var info = Deployments.GetDeployment("dep-broken");
        Assert.Equal(DeploymentState.Failed, info.State);
        Assert.Equal(ModelKitErrorCodes.ModelUnavailable, info.FailureCode);
        Assert.Equal(DeploymentStageStatus.Completed, info.Stages[0].Status);
        Assert.Equal(DeploymentStageStatus.Failed, info.Stages[1].Status);
        Assert.Equal(DeploymentStageStatus.Pending, info.Stages[2].Status);
        Assert.False(info.Pinned);
        Assert.Contains(Deployments.GetLogs("dep-broken"), l => l.Level == Microsoft.Extensions.Logging.LogLevel.Error);
        Assert.Null(Deployments.FindByModel("broken"));

        // Health: a failed deployment degrades the service (and is named); it does not make it unready.
        var health = _provider.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>();
        var report = await health.CheckHealthAsync();
        var deployments = report.Entries["deployments"];
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Degraded, deployments.Status);
        Assert.Contains(((Dictionary<string, object?>[])deployments.Data["failed"]), f => (string?)f["deployment_id"] == "dep-broken");
        var ready = await health.CheckHealthAsync(c => c.Tags.Contains("ready"));
        Assert.DoesNotContain("deployments", ready.Entries.Keys);

        var gpu = await Deployments.DeployAsync(new DeploymentSpec { ModelId = "double", Device = "cuda:0" });
        await Assert.ThrowsAsync<DeploymentFailedException>(() => Deployments.WaitUntilRunningAsync(gpu.DeploymentId).WaitAsync(Wait));
        Assert.Equal(ModelKitErrorCodes.DeviceUnavailable, Deployments.GetDeployment(gpu.DeploymentId).FailureCode);

        // Other models are unaffected, and a failed deployment can be deleted.
        Assert.Equal(new[] { 2f, 2f }, (await Service.InferAsync(Request(1))).Outputs["y"].ToArray<float>());
        await Deployments.DeleteAsync("dep-broken");
        Assert.Null(Deployments.FindDeployment("dep-broken"));
    }

    [Fact]
    public async Task Scale_ChangesParallelRunsWithoutReloading()
    {
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "d", ModelId = "double", Replicas = 1, MaxReplicas = 4, Batching = OneAtATime });
        var loads = _backend.Loads;
        _backend.RunGate = new SemaphoreSlim(0);

        var info = Deployments.Scale("d", 3);
        Assert.Equal((3, 3), (info.DesiredReplicas, info.ReadyReplicas));
        var calls = Enumerable.Range(1, 4).Select(i => InferInBackground(Request(i))).ToArray();
        await WaitForRunsAsync(3);
        await EventuallyAsync(() => QueueLength("d") == 1, "one request waits");
        Assert.Equal(3, Deployments.GetDeployment("d").Queue!.Running); // a free replica would have taken it when it was queued

        _backend.RunGate.Release(4);
        await Task.WhenAll(calls).WaitAsync(Wait);
        Assert.Equal(loads, _backend.Loads);
        Assert.Throws<InvalidModelConfigException>(() => Deployments.Scale("d", 0));
        Assert.Contains(Deployments.GetLogs("d"), l => l.Message.StartsWith("Scaled from 1 to 3", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Autoscaler_AddsReplicasUnderQueueDepth_AndRemovesThemWhenIdle()
    {
        var time = new FakeTimeProvider();
        await StartAsync(deployments: o => o.ScaleDownAfterIdleChecks = 2, time: time);
        await DeployRunningAsync(new DeploymentSpec
        {
            DeploymentId = "auto", ModelId = "double", Replicas = 1, MinReplicas = 1, MaxReplicas = 3, TargetQueueDepth = 2, Batching = OneAtATime,
        });
        _backend.RunGate = new SemaphoreSlim(0);
        var calls = Enumerable.Range(1, 8).Select(i => InferInBackground(Request(i) with { Timeout = TimeSpan.FromHours(1) })).ToArray();
        await WaitForRunsAsync(1);
        await EventuallyAsync(() => QueueLength("auto") == 7, "seven requests wait");

        time.Advance(TimeSpan.FromSeconds(2)); // 7 queued > 2 × 1
        Assert.Equal(2, Deployments.GetDeployment("auto").DesiredReplicas);
        await WaitForRunsAsync(1);
        time.Advance(TimeSpan.FromSeconds(2)); // 6 queued > 2 × 2
        Assert.Equal(3, Deployments.GetDeployment("auto").DesiredReplicas);
        await WaitForRunsAsync(1);
        time.Advance(TimeSpan.FromSeconds(2)); // at the upper bound
        Assert.Equal(3, Deployments.GetDeployment("auto").DesiredReplicas);

        _backend.RunGate.Release(100);
        await Task.WhenAll(calls).WaitAsync(Wait);
        // A caller hears of its outputs before its batch's instance is counted free: the checks below must see no run.
        await EventuallyAsync(() => Deployments.GetDeployment("auto").Queue?.Running == 0, "no batch runs");
        for (var i = 0; i < 4; i++) time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, Deployments.GetDeployment("auto").DesiredReplicas);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(1, Deployments.GetDeployment("auto").DesiredReplicas); // never below the lower bound
        var logs = Deployments.GetLogs("auto");
        Assert.Contains(logs, l => l.Message.Contains("scaling up to 3", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Message.Contains("scaling down to 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AManualScale_StartsTheAutoscalersIdleCountAgain_SoItIsNotUndoneAtTheNextCheck()
    {
        var time = new FakeTimeProvider();
        await StartAsync(deployments: o => o.ScaleDownAfterIdleChecks = 3, time: time);
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "auto", ModelId = "double", Replicas = 1, MinReplicas = 1, MaxReplicas = 3 });
        Deployments.Scale("auto", 3);
        time.Advance(TimeSpan.FromSeconds(2));
        time.Advance(TimeSpan.FromSeconds(2)); // idle for two checks of three
        Assert.Equal(3, Deployments.GetDeployment("auto").DesiredReplicas);

        // The operator's choice stands for three idle checks from now, not one.
        Assert.Equal(2, Deployments.Scale("auto", 2).DesiredReplicas);
        time.Advance(TimeSpan.FromSeconds(2));
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(2, Deployments.GetDeployment("auto").DesiredReplicas);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, Deployments.GetDeployment("auto").DesiredReplicas);
    }

    [Fact]
    public async Task UpdateAsync_NewVersion_TakesNewTrafficWhileInFlightRequestsFinishOnTheOld()
    {
        await StartAsync(deployments: o => o.WarmUp = false);
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "d", ModelId = "double", Batching = OneAtATime });
        _backend.RunGate = new SemaphoreSlim(0);
        var oldCalls = new[] { InferInBackground(Request(1)), InferInBackground(Request(2)), InferInBackground(Request(3)) };
        await WaitForRunsAsync(1);
        await EventuallyAsync(() => QueueLength("d") == 2, "two requests wait");

        var update = Deployments.UpdateAsync("d", new DeploymentUpdate { Version = "2" });
        await EventuallyAsync(() => Deployments.GetDeployment("d").Version == "2", "version 2 takes the traffic");
        Assert.False(update.IsCompleted); // still draining version 1
        var newCall = InferInBackground(Request(4));

        _backend.RunGate.Release(100);
        var old = await Task.WhenAll(oldCalls).WaitAsync(Wait);
        Assert.All(old, r => Assert.Equal("1", r.Version));
        Assert.Equal([2f, 2f], old[0].Outputs["y"].ToArray<float>());
        var fresh = await newCall.WaitAsync(Wait);
        Assert.Equal("2", fresh.Version);
        Assert.Equal([12f, 12f], fresh.Outputs["y"].ToArray<float>());

        var info = await update.WaitAsync(Wait);
        Assert.Equal(("2", DeploymentState.Running, (string?)null), (info.Version, info.State, info.UpdatingToVersion));
        var entries = Cache.GetStats().Entries;
        Assert.DoesNotContain(entries, e => e.Key.Version == "1");
        Assert.Contains(entries, e => e.Key.Version == "2" && e.Pinned);
    }

    [Fact]
    public async Task UpdateAsync_VersionThatFailsToLoad_KeepsTheOldVersionServing()
    {
        var bad = await Registry.AddVersionAsync("double", "3", Content("model v3"), "m.onnx");
        await File.WriteAllTextAsync(bad.Files[0].Path, "bad: damaged on disk");
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "d", ModelId = "double", Version = "1" });

        var error = await Assert.ThrowsAsync<DeploymentFailedException>(() => Deployments.UpdateAsync("d", new DeploymentUpdate { Version = "3" }));
        Assert.Contains("version 1 keeps serving", error.Message, StringComparison.Ordinal);
        var info = Deployments.GetDeployment("d");
        Assert.Equal(("1", DeploymentState.Running, (string?)null), (info.Version, info.State, info.UpdatingToVersion));
        Assert.Equal("1", (await Service.InferAsync(Request(1))).Version);
        await Assert.ThrowsAsync<ModelNotFoundException>(() => Deployments.UpdateAsync("d", new DeploymentUpdate { Version = "42" }));
    }

    [Fact]
    public async Task StopAsync_DrainsQueuedRequests_ThenStartAndDeleteWork()
    {
        await StartAsync(inference: o => o.ServeUndeployedModels = false);
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "d", ModelId = "double", Batching = OneAtATime });
        _backend.RunGate = new SemaphoreSlim(0);
        var first = InferInBackground(Request(1));
        await WaitForRunsAsync(1);
        var queued = InferInBackground(Request(2));
        await EventuallyAsync(() => QueueLength("d") == 1, "the second request waits");

        var stop = Deployments.StopAsync("d");
        await EventuallyAsync(() => Deployments.GetDeployment("d").State == DeploymentState.Stopping, "the deployment is stopping");
        await Assert.ThrowsAsync<DeploymentNotRunningException>(() => Service.InferAsync(Request(3)));
        _backend.RunGate.Release(100);
        Assert.Equal(new[] { 4f, 4f }, (await queued.WaitAsync(Wait)).Outputs["y"].ToArray<float>());
        await first.WaitAsync(Wait);
        var stopped = await stop.WaitAsync(Wait);
        Assert.Equal((DeploymentState.Stopped, 0, false), (stopped.State, stopped.ReadyReplicas, stopped.Pinned));
        Assert.DoesNotContain(Cache.GetStats().Entries, e => e.Pinned);
        var notRunning = await Assert.ThrowsAsync<DeploymentNotRunningException>(() => Service.InferAsync(Request(3)));
        Assert.Contains("not deployed", notRunning.Message, StringComparison.Ordinal);
        await Registry.DeleteVersionAsync("double", "2"); // nothing deployed any more: deleting is allowed

        await Deployments.StartAsync("d");
        Assert.Equal(DeploymentState.Running, (await Deployments.WaitUntilRunningAsync("d").WaitAsync(Wait)).State);
        Assert.Equal(new[] { 10f, 10f }, (await Service.InferAsync(Request(5))).Outputs["y"].ToArray<float>());

        var refused = await Assert.ThrowsAsync<ModelKitConflictException>(() => Registry.DeleteModelAsync("double"));
        Assert.Contains("deployment 'd' (running)", refused.Message, StringComparison.Ordinal);
        await Deployments.DeleteAsync("d");
        Assert.Null(Deployments.FindDeployment("d"));
        Assert.DoesNotContain(Cache.GetStats().Entries, e => e.Key.ModelId == "double");
        await Registry.DeleteModelAsync("double");
    }

    [Fact]
    public async Task RestartAsync_RunningDeployment_ComesBackUnderItsId_AndFindLatestByModelKeepsStoppedOnes()
    {
        Assert.Null(Deployments.FindLatestByModel("double"));
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "r", ModelId = "double" });
        var restarting = await Deployments.RestartAsync("r");
        Assert.Equal("r", restarting.DeploymentId);
        Assert.Equal(DeploymentState.Running, (await Deployments.WaitUntilRunningAsync("r").WaitAsync(Wait)).State);
        var logs = Deployments.GetLogs("r").Select(l => l.Message).ToList();
        var stopped = logs.FindIndex(m => m.StartsWith("Stopped", StringComparison.Ordinal));
        var starting = logs.FindIndex(m => m.StartsWith("Starting again", StringComparison.Ordinal));
        Assert.True(stopped >= 0 && starting >= 0, string.Join(" | ", logs)); // both lines are there (FindIndex gives -1 otherwise)
        Assert.True(stopped < starting);
        var result = await Service.InferAsync(Request(2));
        Assert.Equal(new[] { 4f, 4f }, result.Outputs["y"].ToArray<float>());
        Assert.NotNull(Deployments.GetDeployment("r").MemoryUsedBytes); // its session, as the cache holds it

        await Deployments.StopAsync("r");
        Assert.Null(Deployments.GetDeployment("r").MemoryUsedBytes); // a stopped deployment holds nothing, cached or not
        Assert.Null(Deployments.FindByModel("double"));
        Assert.Equal(("r", DeploymentState.Stopped), (Deployments.FindLatestByModel("double")!.DeploymentId, Deployments.FindLatestByModel("double")!.State));
        Assert.Equal(DeploymentState.Running, (await Deployments.WaitUntilRunningAsync((await Deployments.RestartAsync("r")).DeploymentId).WaitAsync(Wait)).State);
    }

    [Fact]
    public async Task StopAsync_WhileLoading_CancelsTheBringUpAndPinsNothing()
    {
        _backend.LoadGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = await Deployments.DeployAsync(new DeploymentSpec { DeploymentId = "slow", ModelId = "double" });
        await EventuallyAsync(() => Deployments.GetDeployment("slow").CurrentStage == "model_loading", "loading has started");

        var stopped = await Deployments.StopAsync(pending.DeploymentId).WaitAsync(Wait);
        Assert.Equal(DeploymentState.Stopped, stopped.State);
        _backend.LoadGate.SetResult();
        await Service.PreloadAsync("double").WaitAsync(Wait); // joins the load the cancelled bring-up started, and waits for it
        Assert.Equal(DeploymentState.Stopped, Deployments.GetDeployment("slow").State);
        Assert.DoesNotContain(Cache.GetStats().Entries, e => e.Pinned);
        await Assert.ThrowsAsync<ModelKitConflictException>(() => Deployments.WaitUntilRunningAsync("slow"));
    }

    [Fact]
    public async Task MinReplicasZero_DoesNotPin_AndTheModelReloadsAfterEviction()
    {
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "d", ModelId = "double", MinReplicas = 0, MaxReplicas = 2 });
        var loads = _backend.Loads;
        Assert.False(Deployments.GetDeployment("d").Pinned);
        Assert.Equal(1, Cache.Clear());
        Assert.Equal(new[] { 6f, 6f }, (await Service.InferAsync(Request(3))).Outputs["y"].ToArray<float>());
        Assert.Equal(loads + 1, _backend.Loads);

        var pinned = Deployments.Scale("d", 1, minReplicas: 1);
        Assert.True(pinned.Pinned);
        Assert.Equal(0, Cache.Clear());
    }

    [Fact]
    public async Task ForcedRegistryDelete_StopsTheDeploymentThatServedIt()
    {
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "d", ModelId = "double", Version = "1" });
        await Registry.DeleteVersionAsync("double", "2"); // not deployed: no effect on the deployment
        Assert.Equal(DeploymentState.Running, Deployments.GetDeployment("d").State);

        await Registry.DeleteModelAsync("double", force: true);
        await EventuallyAsync(() => Deployments.GetDeployment("d").State == DeploymentState.Stopped, "the deployment stops");
        Assert.Contains(Deployments.GetLogs("d"), l => l.Message.Contains("deleted from the registry (forced)", StringComparison.Ordinal));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => Service.InferAsync(Request(1)));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => Deployments.StartAsync("d"));
    }

    [Fact]
    public async Task Restart_HostBringsBackSavedDeployments()
    {
        await DeployRunningAsync(new DeploymentSpec
        {
            DeploymentId = "kept", ModelId = "double", Version = "2", Replicas = 2, MaxReplicas = 3, Batching = OneAtATime with { MaxBatchElements = 512 }, DefaultPriority = RequestPriority.High,
            Environment = new Dictionary<string, string> { ["MODE"] = "fast" },
            Generation = new GenerationLimits { MaxContextLength = 512, KvCacheBytes = 64L << 20 },
        });
        await Registry.RegisterAsync(new ModelDefinition { Id = "other", Name = "Other" }, Content("model"), "o.onnx");
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "paused", ModelId = "other" });
        await Deployments.StopAsync("paused");
        await Registry.RegisterAsync(new ModelDefinition { Id = "gone", Name = "Gone" }, Content("model"), "g.onnx");
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "orphan", ModelId = "gone" });
        await _provider.DisposeAsync();
        Assert.True(File.Exists(Path.Combine(_dir.Path, "deployments.json")));

        // The model of "orphan" disappears while no host runs.
        var registry = new ModelRegistry(Microsoft.Extensions.Options.Options.Create(new ModelKitOptions { DataDirectory = _dir.Path }), [_backend]);
        await registry.DeleteModelAsync("gone");

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<IInferenceBackend>(_backend);
        builder.Services.AddModelKit(o => o.DataDirectory = _dir.Path);
        using var host = builder.Build();
        await host.StartAsync();
        var deployments = host.Services.GetRequiredService<IDeploymentManager>();

        var kept = await deployments.WaitUntilRunningAsync("kept").WaitAsync(Wait);
        Assert.Equal(("2", 2, 1, 3, RequestPriority.High, 1), (kept.Version, kept.DesiredReplicas, kept.MinReplicas, kept.MaxReplicas, kept.DefaultPriority, kept.Batching.MaxBatchSize));
        Assert.Equal("fast", kept.Environment["MODE"]);
        Assert.Equal(512, kept.Batching.MaxBatchElements);
        Assert.Equal(new GenerationLimits { MaxContextLength = 512, KvCacheBytes = 64L << 20 }, kept.Generation);
        Assert.Equal(DeploymentState.Stopped, deployments.GetDeployment("paused").State);
        var orphan = deployments.GetDeployment("orphan");
        Assert.Equal(DeploymentState.Failed, orphan.State);
        Assert.Contains("Could not be restored", orphan.FailureReason, StringComparison.Ordinal);
        var result = await host.Services.GetRequiredService<IInferenceService>().InferAsync(Request(2));
        Assert.Equal(("2", 6f), (result.Version, result.Outputs["y"].AsSpan<float>()[0]));
        await host.StopAsync();
    }

    [Fact]
    public async Task Logs_AreBoundedToTheNewestEntries()
    {
        await StartAsync(deployments: o => o.MaxLogEntries = 5);
        await DeployRunningAsync(new DeploymentSpec { DeploymentId = "d", ModelId = "double", Replicas = 1, MaxReplicas = 20 });
        for (var r = 2; r <= 20; r++) Deployments.Scale("d", r);

        var logs = Deployments.GetLogs("d");
        Assert.Equal(5, logs.Count);
        Assert.Equal("Scaled from 19 to 20 replica(s) (bounds 1..20).", logs[^1].Message);
        Assert.Equal(2, Deployments.GetLogs("d", lines: 2).Count);
    }

    public async Task DisposeAsync()
    {
        _backend.RunGate?.Release(1000);
        await _provider.DisposeAsync();
        _dir.Dispose();
    }
}
