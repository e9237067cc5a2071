using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests.Inference;

public sealed class InferenceServiceTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();
    private ServiceProvider _provider = null!;

    private IInferenceService Service => _provider.GetRequiredService<IInferenceService>();

    private IModelRegistry Registry => _provider.GetRequiredService<IModelRegistry>();

    public async Task InitializeAsync()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddSingleton<IInferenceBackend>(_backend);
        services.AddModelKit(o => o.DataDirectory = _dir.Path);
        services.AddModelKit(); // a second call changes nothing
        _provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        await Registry.RegisterAsync(new ModelDefinition { Id = "double", Name = "Doubler" }, new MemoryStream(Encoding.UTF8.GetBytes("model")), "double.onnx");
    }

    private static InferenceRequest Request(string model, params (string Name, Tensor Tensor)[] inputs) => new()
    {
        ModelId = model,
        Inputs = inputs.ToDictionary(i => i.Name, i => i.Tensor),
    };

    [Fact]
    public async Task InferAsync_ValidInput_ReturnsOutputsOfTheDefaultVersion()
    {
        var result = await Service.InferAsync(Request("double", ("x", Tensor.Create(new float[] { 1, 2, 3, 4 }, 2, 2))));
        Assert.Equal("double", result.ModelId);
        Assert.Equal("1", result.Version);
        Assert.Equal([2f, 4f, 6f, 8f], result.Outputs["y"].ToArray<float>());
        Assert.Equal([2L, 2L], result.Outputs["y"].Shape.ToArray());
    }

    [Fact]
    public async Task InferAsync_UnknownModel_ThrowsModelNotFound()
    {
        var error = await Assert.ThrowsAsync<ModelNotFoundException>(() => Service.InferAsync(Request("ghost", ("x", Tensor.Create(new float[2], 1, 2)))));
        Assert.Contains("ghost", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ModelNotFoundException>(() => Service.InferAsync(Request("double", ("x", Tensor.Create(new float[2], 1, 2))) with { Version = "7" }));
    }

    [Fact]
    public async Task InferAsync_WithTask_ChecksItAgainstTheModelsTask()
    {
        await Registry.RegisterAsync(new ModelDefinition { Id = "classifier", Name = "Classifier", Task = "classification" }, new MemoryStream(Encoding.UTF8.GetBytes("model")), "c.onnx");
        var input = ("x", Tensor.Create(new float[] { 1, 2 }, 1, 2));
        var result = await Service.InferAsync(Request("classifier", input) with { Task = "Classification" });
        Assert.Equal([2f, 4f], result.Outputs["y"].ToArray<float>());
        var error = await Assert.ThrowsAsync<UnsupportedTaskException>(() => Service.InferAsync(Request("classifier", input) with { Task = "text-generation" }));
        Assert.Equal("Model 'classifier' performs 'classification', not 'text-generation'; GET the supported tasks for the models of each task.", error.Message);
        await Assert.ThrowsAsync<UnsupportedTaskException>(() => Service.ValidateAsync(Request("classifier", input) with { Task = "detection" }));
        await Service.InferAsync(Request("double", input) with { Task = "anything" }); // a model without a task takes any
    }

    [Fact]
    public async Task InferAsync_WrongInputName_NamesTheInputAndWhatTheModelTakes()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => Service.InferAsync(Request("double", ("input", Tensor.Create(new float[2], 1, 2)))));
        Assert.Equal(ModelKitErrorCodes.InvalidInput, error.ErrorCode);
        Assert.Contains("input 'x' (float32[?,2]) is missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("input 'input' is not an input of the model", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_WrongType_SaysExpectedAndActual()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => Service.InferAsync(Request("double", ("x", Tensor.Create(new long[6], 2, 3)))));
        Assert.Contains("input 'x' expects float32[?,2], got int64[2,3]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferAsync_WrongShape_SaysExpectedAndActual()
    {
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => Service.InferAsync(Request("double", ("x", Tensor.Create(new float[3], 3)))));
        Assert.Contains("input 'x' expects float32[?,2], got float32[3]", error.Message, StringComparison.Ordinal);
        Assert.Empty(_backend.Batches);
    }

    [Fact]
    public async Task InferManyAsync_MixedItems_EachSucceedsOrFailsAlone()
    {
        var batch = await Service.InferManyAsync(
        [
            InferenceBatchItem.Of(Request("double", ("x", Tensor.Create(new float[] { 1, 1 }, 1, 2)))),
            InferenceBatchItem.Of(Request("ghost", ("x", Tensor.Create(new float[] { 1, 1 }, 1, 2)))),
            InferenceBatchItem.Of(Request("double", ("x", Tensor.Create(new int[] { 1, 1 }, 1, 2)))),
            InferenceBatchItem.Failed(new InvalidInputException("item 3 could not be read")),
            InferenceBatchItem.Of(Request("double", ("x", Tensor.Create(new float[] { 3, 3 }, 1, 2)))),
        ]);
        var results = batch.Items;
        Assert.True(results[0].Succeeded);
        Assert.IsType<ModelNotFoundException>(results[1].Error);
        Assert.IsType<InvalidInputException>(results[2].Error);
        Assert.Equal("item 3 could not be read", results[3].Error!.Message);
        Assert.Equal([6f, 6f], results[4].Result!.Outputs["y"].ToArray<float>());
        Assert.Equal((5, 2, 3, 0.4), (batch.Total, batch.Succeeded, batch.Failed, batch.SuccessRate));
        Assert.Equal(batch.TotalTime / 5, batch.AverageTimePerRequest);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(101)]
    public async Task InferManyAsync_EmptyOrOver100Items_IsInvalidInput(int count)
    {
        var items = Enumerable.Range(0, count).Select(_ => InferenceBatchItem.Of(Request("double", ("x", Tensor.Create(new float[] { 1, 1 }, 1, 2))))).ToArray();
        var error = await Assert.ThrowsAsync<InvalidInputException>(() => Service.InferManyAsync(items));
        Assert.Contains($"1 to 100 requests (had {count})", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InferManyAsync_Concurrent_SharesBatches_Sequential_RunsOneAfterAnotherInOrder()
    {
        var rows = Enumerable.Range(1, 4).Select(v => InferenceBatchItem.Of(Request("double", ("x", Tensor.Create(new float[] { v, v }, 1, 2))))).ToArray();
        await Service.InferAsync(rows[0].Request!); // loaded and routed: from here on, queueing a request completes synchronously
        long Enqueued() => _provider.GetRequiredService<ModelKit.Serving.IModelRouter>().GetQueueStats()["double:1"].Enqueued;
        var before = Enqueued();
        _backend.Batches.Clear();
        _backend.RunOrder.Clear();

        // Concurrent: the first request runs alone (held), the other three queue behind it and run as one batch.
        _backend.RunGate = new SemaphoreSlim(0);
        var together = Service.InferManyAsync(rows);
        try
        {
            Assert.Equal(before + 4, Enqueued()); // all queued before the call returned
            Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            _backend.RunGate.Release(100);
        }

        Assert.All((await together.WaitAsync(TimeSpan.FromSeconds(10))).Items, r => Assert.True(r.Succeeded));
        Assert.Equal([[1], [1, 1, 1]], _backend.Batches.ToArray());

        // Sequential: while the first run is held, nothing else has been queued; then each runs alone, in order.
        _backend.Batches.Clear();
        _backend.RunOrder.Clear();
        _backend.RunGate = new SemaphoreSlim(0);
        before = Enqueued();
        var inOrder = Service.InferManyAsync(rows, sequential: true);
        try
        {
            Assert.True(await _backend.RunStarted.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(before + 1, Enqueued()); // concurrent items would all be queued by now (see above)
        }
        finally
        {
            _backend.RunGate.Release(100); // a failed check must not leave runs blocked
        }

        var results = await inOrder.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([2f, 4f, 6f, 8f], results.Items.Select(r => r.Result!.Outputs["y"].AsSpan<float>()[0]));
        Assert.Equal([1f, 2f, 3f, 4f], _backend.RunOrder.ToArray());
        Assert.Equal([[1], [1], [1], [1]], _backend.Batches.ToArray());
    }

    [Fact]
    public async Task InferAsync_ArtifactDamagedOnDisk_FailsOnlyItsOwnRequestsAsModelUnavailableWithoutPaths()
    {
        var broken = await Registry.RegisterAsync(new ModelDefinition { Id = "broken", Name = "Broken later" }, new MemoryStream(Encoding.UTF8.GetBytes("other model")), "b.onnx");
        await File.WriteAllTextAsync(broken.Versions[0].Files[0].Path, "bad: damaged on disk after registration");
        var loads = _backend.Loads;

        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => Service.InferAsync(Request("broken", ("x", Tensor.Create(new float[2], 1, 2)))));
        Assert.Equal(ModelKitErrorCodes.ModelUnavailable, error.ErrorCode);
        Assert.Contains("does not match its recorded sha256", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_dir.Path, error.Message, StringComparison.Ordinal);
        Assert.Equal(loads, _backend.Loads); // caught by its hash before the backend saw it
        var ok = await Service.InferAsync(Request("double", ("x", Tensor.Create(new float[] { 5, 5 }, 1, 2))));
        Assert.Equal([10f, 10f], ok.Outputs["y"].ToArray<float>());
    }

    [Fact]
    public void AddModelKit_InvalidOptions_ReportsEveryFieldAtStart()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddModelKit(o => o.DataDirectory = "")
            .ConfigureCache(c => { c.MaxModels = 0; c.MemoryLimitBytes = -1; });
        using var provider = services.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<ModelKit.Caching.ModelCacheOptions>>().Value);
        Assert.Contains(error.Failures, f => f.Contains("MaxModels must be 1..10000", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("MemoryLimitBytes must be positive", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        await _provider.DisposeAsync();
        _dir.Dispose();
    }
}
