using ModelKit.Downloads;

namespace ModelKit.Tests.Downloads;

/// <summary>The task's life across pause, resume, cancel and delete, as a host sees it through <see cref="IDownloadManager"/>.</summary>
public sealed class DownloadLifecycleTests : IAsyncLifetime
{
    private DownloadTestBed _bed = null!;

    public async Task InitializeAsync()
    {
        _bed = await DownloadTestBed.StartAsync();
        _bed.SeedMlpRepo();
    }

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private static DownloadRequest Request => new() { Source = "huggingface", ModelId = DownloadTestBed.Repo };

    [Fact]
    public async Task WaitForCompletionAsync_StartedBeforeAPauseAndResume_ReturnsWhenTheTaskCompletes()
    {
        _bed.Hub.Faults.BytesPerSecond = 50_000;
        var manager = _bed.CreateManager();
        var task = await manager.StartAsync(Request);
        using var timeout = new CancellationTokenSource(DownloadTestBed.Patience);
        var waiting = manager.WaitForCompletionAsync(task.Id, timeout.Token);
        await DownloadTestBed.WaitForBytesAsync(manager, task.Id, 1);
        Assert.Equal(DownloadStatus.Paused, (await manager.PauseAsync(task.Id)).Status);
        Assert.False(waiting.IsCompleted);
        _bed.Hub.Faults.BytesPerSecond = 0;
        await manager.ResumeAsync(task.Id);
        var done = await waiting;
        Assert.Equal(DownloadStatus.Completed, done.Status);
    }

    [Fact]
    public async Task ResumeAsync_OfACancelledTask_IsAConflict_AndTheTaskStaysCancelledWithoutFiles()
    {
        _bed.Hub.Faults.BytesPerSecond = 50_000;
        var manager = _bed.CreateManager();
        var task = await manager.StartAsync(Request);
        await DownloadTestBed.WaitForBytesAsync(manager, task.Id, 1);
        await manager.PauseAsync(task.Id);
        Assert.Equal(DownloadStatus.Cancelled, (await manager.CancelAsync(task.Id)).Status);
        await Assert.ThrowsAsync<ModelKitConflictException>(() => manager.ResumeAsync(task.Id));
        Assert.Equal(DownloadStatus.Cancelled, (await manager.GetAsync(task.Id)).Status);
        Assert.False(Directory.Exists(Path.Combine(_bed.StagingRoot, task.Id)));
    }

    [Fact]
    public async Task DeleteAsync_RacingResume_LeavesNoTaskNoFilesAndNothingAfterARestart()
    {
        _bed.Hub.Faults.BytesPerSecond = 50_000;
        var manager = _bed.CreateManager();
        var task = await manager.StartAsync(Request);
        await DownloadTestBed.WaitForBytesAsync(manager, task.Id, 1);
        await manager.PauseAsync(task.Id);
        var resume = Task.Run(async () =>
        {
            try
            {
                await manager.ResumeAsync(task.Id);
            }
            catch (ModelKitException)
            {
                // Conflict (being deleted) or not found (deleted): both fine.
            }
        });
        await manager.DeleteAsync(task.Id);
        await resume;
        await Assert.ThrowsAsync<DownloadNotFoundException>(() => manager.GetAsync(task.Id));
        _bed.Hub.Faults.BytesPerSecond = 0;

        // A new manager on the same data directory knows nothing of it, and nothing was registered.
        var next = _bed.CreateManager();
        Assert.Equal(0, (await next.ListAsync(new DownloadQuery())).Total);
        Assert.False(Directory.Exists(Path.Combine(_bed.StagingRoot, task.Id)));
        Assert.Null(await _bed.Registry.FindModelAsync(DownloadTestBed.Repo));
    }

    [Fact]
    public async Task StartAsync_BadPatternsOrPaths_AreInvalidInput_BeforeAnythingIsAsked()
    {
        var manager = _bed.CreateManager(o => o.LocalRoots = [_bed.Root]);
        _bed.Hub.Counters.Reset();
        foreach (var pattern in new[] { "", "a\u0001b", new string('x', 300) })
        {
            await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { AllowPatterns = [pattern] }));
        }

        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { IgnorePatterns = [.. Enumerable.Repeat("*.md", 65)] }));
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(new DownloadRequest { Source = "file", ModelId = "x", Path = "a\u0000b" }));
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { PathInArchive = "../../x" }));
        Assert.Equal(0, _bed.Hub.Counters.Requests);

        // fnmatch's odd sets are patterns, not errors: a set that names nothing simply matches no file.
        foreach (var pattern in new[] { "[]", "[!]", "[z-a]", string.Concat(Enumerable.Repeat("*a", 120)) + "b" })
        {
            var refused = await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { AllowPatterns = [pattern] }));
            Assert.Contains("No ONNX file matches", refused.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task StartAsync_IdsWithATrailingNewline_AreInvalidInput()
    {
        var manager = _bed.CreateManager();
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { RegisterAs = "mlp\n" }));
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { Version = "v1\n" }));
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { ModelId = "acme/mlp\n" }));
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { Revision = "main\n" }));
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Request with { Task = new string('t', 65) }));
    }

    [Fact]
    public async Task FileSource_APathThroughALinkedFolder_IsRefusedAsAbsent()
    {
        var root = Path.Combine(_bed.Root, "roots");
        var outside = Path.Combine(_bed.Root, "outside");
        Directory.CreateDirectory(root);
        Directory.CreateDirectory(outside);
        File.WriteAllBytes(Path.Combine(outside, "model.onnx"), _bed.Read(DownloadTestBed.Repo, "model.onnx"));
        Directory.CreateSymbolicLink(Path.Combine(root, "link"), outside);
        var manager = _bed.CreateManager(o => o.LocalRoots = [root]);
        await Assert.ThrowsAsync<ModelNotFoundException>(() => manager.StartAsync(new DownloadRequest { Source = "file", ModelId = "escaped", Path = "link/model.onnx" }));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => manager.StartAsync(new DownloadRequest { Source = "file", ModelId = "escaped", Path = "link" }));
        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Transfer_TheHashSentWithTheFile_IsChecked(bool listingHasHash)
    {
        // A source whose listing publishes the right hash but sends another with the file, or publishes none and sends one
        // that the bytes do not match: either way the task fails its integrity check and registers nothing.
        var bytes = _bed.Read(DownloadTestBed.Repo, "model.onnx");
        var real = DownloadTestBed.Sha256(bytes);
        var other = DownloadTestBed.Sha256([1, 2, 3]);
        var source = new TaggingSource(bytes, listingHasHash ? real : null, other);
        var manager = _bed.CreateManager(extraSources: [source]);
        var task = await manager.StartAsync(new DownloadRequest { Source = "tagging", ModelId = "tagged" });
        var failed = await DownloadTestBed.WaitForStatusAsync(manager, task.Id, DownloadStatus.Failed);
        Assert.Equal(ModelKitErrorCodes.IntegrityCheckFailed, failed.Error?.Code);
        Assert.Null(await _bed.Registry.FindModelAsync("tagged"));
    }

    private sealed class TaggingSource(byte[] content, string? listed, string sent) : IModelSource
    {
        public string Name => "tagging";

        public Task<ModelSourcePlan> PlanAsync(DownloadRequest request, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ModelSourcePlan { Location = "memory", Revision = "r1", Files = [new ModelSourceFile("model.onnx", "model.onnx", content.Length, listed)], PrimaryFile = "model.onnx" });

        public Task<ModelSourceContent> OpenAsync(ModelSourcePlan plan, ModelSourceFile file, long offset, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ModelSourceContent(new MemoryStream(content, (int)offset, content.Length - (int)offset), offset, content.Length) { EntityTag = sent });
    }
}
