using ModelKit.Downloads;
using ModelKit.LocalHub;

namespace ModelKit.Tests.Downloads;

/// <summary>
/// The download manager against the local hub over real sockets: real files, the real SQLite task store, registration
/// through the registry with the real ONNX Runtime backend.
/// </summary>
public sealed class DownloadManagerTests : IAsyncLifetime
{
    private const string Repo = DownloadTestBed.Repo;
    private DownloadTestBed _bed = null!;

    public async Task InitializeAsync()
    {
        _bed = await DownloadTestBed.StartAsync();
        _bed.SeedMlpRepo();
    }

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private static DownloadRequest Hub(string repo = Repo) => new() { Source = "huggingface", ModelId = repo };

    [Fact]
    public async Task StartAsync_MultiFileRepo_TakesModelAndCompanionsAndRegistersThemWithTheirHashes()
    {
        var manager = _bed.CreateManager();
        var commit = _bed.Hub.CommitOf(Repo);

        var started = await manager.StartAsync(Hub());
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Equal(DownloadStatus.Completed, done.Status);
        Assert.Equal(commit, done.Revision);
        Assert.Equal(["config.json", "model.onnx", "vocab.txt"], done.Files.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.All(done.Files, f => Assert.True(f.Verified));
        Assert.Equal(done.BytesTotal, done.BytesDownloaded);

        var model = await _bed.Registry.GetModelAsync(Repo);
        Assert.Equal("huggingface", model.Metadata["source"]);
        Assert.Equal(commit, model.Metadata["source_revision"]);
        Assert.Equal(Repo, model.Metadata["source_repository"]);
        Assert.Equal("feature-extraction", model.Task);
        var version = Assert.Single(model.Versions);
        Assert.Equal(done.RegisteredVersion, version.Version);
        Assert.Equal(3, version.Files.Count);
        foreach (var name in (string[])["model.onnx", "vocab.txt", "config.json"])
        {
            var file = Assert.Single(version.Files, f => f.Name == name);
            Assert.Equal(DownloadTestBed.Sha256(_bed.Read(Repo, name)), file.Sha256);
        }

        Assert.NotNull(version.Signature); // loaded by ONNX Runtime when registered
        Assert.False(Directory.Exists(Path.Combine(_bed.StagingRoot, started.Id)));
    }

    [Fact]
    public async Task StartAsync_AllowPatterns_MatchInSubfoldersAndIgnoreApplies()
    {
        var manager = _bed.CreateManager();
        var started = await manager.StartAsync(Hub() with { AllowPatterns = ["*.onnx", "*.txt"], IgnorePatterns = ["vocab*"], RegisterAs = "mlp-all" });
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Equal(["model.onnx", "onnx/model_fp16.onnx"], done.Files.Select(f => f.Name).Order(StringComparer.Ordinal));
        var version = Assert.Single((await _bed.Registry.GetModelAsync("mlp-all")).Versions);
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read(Repo, "onnx/model_fp16.onnx")), Assert.Single(version.Files, f => f.Name == "onnx/model_fp16.onnx").Sha256);
    }

    [Fact]
    public async Task StartAsync_SeveralOnnxFilesNoneModelOnnx_ThrowsInvalidInputNamingThem()
    {
        _bed.Write("acme/variants", "onnx/model_fp16.onnx", _bed.Read(Repo, "model.onnx"));
        _bed.Write("acme/variants", "onnx/model_int8.onnx", _bed.Read(Repo, "onnx/model_fp16.onnx"));
        var manager = _bed.CreateManager();

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(Hub("acme/variants")));

        Assert.Contains("none is 'model.onnx'", error.Message, StringComparison.Ordinal);
        Assert.Contains("onnx/model_int8.onnx", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task PauseAsync_MidFile_KeepsThePartAndResumeAsksForTheRestByRange()
    {
        _bed.SeedMlpRepo("acme/big", hidden: 2048);
        _bed.Hub.Faults.BytesPerSecond = 100_000;
        var manager = _bed.CreateManager();
        var started = await manager.StartAsync(Hub("acme/big"));
        await DownloadTestBed.WaitForBytesAsync(manager, started.Id, 30_000);

        var paused = await manager.PauseAsync(started.Id);

        Assert.Equal(DownloadStatus.Paused, paused.Status);
        var parts = Directory.GetFiles(Path.Combine(_bed.StagingRoot, started.Id), "*.part", SearchOption.AllDirectories);
        var part = Assert.Single(parts);
        var kept = new FileInfo(part).Length;
        Assert.True(kept > 0, "the partial file keeps what arrived");
        Assert.Equal(DownloadStatus.Paused, (await manager.GetAsync(started.Id)).Status);

        _bed.Hub.Faults.BytesPerSecond = 0;
        _bed.Hub.Counters.Reset();
        await manager.ResumeAsync(started.Id);
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Contains(_bed.Hub.Counters.RangeRequests, r => r.Range == $"bytes={kept}-");
        var name = Path.GetFileName(part)[..^".part".Length];
        var version = Assert.Single((await _bed.Registry.GetModelAsync("acme/big")).Versions);
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read("acme/big", name)), Assert.Single(version.Files, f => f.Name == name).Sha256);
        Assert.Equal(DownloadStatus.Completed, done.Status);
    }

    [Fact]
    public async Task RestoreAsync_ManagerDisposedMidDownload_NextManagerResumesByRangeAndCompletes()
    {
        _bed.SeedMlpRepo("acme/big", hidden: 2048);
        _bed.Hub.Faults.BytesPerSecond = 100_000;
        var first = _bed.CreateManager();
        var started = await first.StartAsync(Hub("acme/big"));
        await DownloadTestBed.WaitForBytesAsync(first, started.Id, 30_000);

        await first.DisposeAsync();

        var part = Assert.Single(Directory.GetFiles(Path.Combine(_bed.StagingRoot, started.Id), "*.part", SearchOption.AllDirectories));
        var kept = new FileInfo(part).Length;
        _bed.Hub.Faults.BytesPerSecond = 0;
        _bed.Hub.Counters.Reset();
        var second = _bed.CreateManager();
        await second.RestoreAsync();
        var done = await DownloadTestBed.CompleteAsync(second, started.Id);

        Assert.Equal(DownloadStatus.Completed, done.Status);
        Assert.Contains(_bed.Hub.Counters.RangeRequests, r => r.Range == $"bytes={kept}-");
        Assert.Single((await _bed.Registry.GetModelAsync("acme/big")).Versions);
    }

    [Fact]
    public async Task Transfer_ConnectionDroppedMidFile_IsRetriedFromWhereItStopped()
    {
        _bed.SeedMlpRepo("acme/big", hidden: 2048);
        _bed.Hub.Faults.DropAfterBytes = 100_000;
        _bed.Hub.Faults.DropCount = 1;
        var manager = _bed.CreateManager();

        var started = await manager.StartAsync(Hub("acme/big"));
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Equal(1, _bed.Hub.Counters.Dropped);
        Assert.Contains(_bed.Hub.Counters.RangeRequests, r => r.Path.StartsWith("/_lfs/", StringComparison.Ordinal) && StartOf(r.Range) is > 0 and <= 100_000);
        var version = Assert.Single((await _bed.Registry.GetModelAsync("acme/big")).Versions);
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read("acme/big", "model.onnx")), Assert.Single(version.Files, f => f.Name == "model.onnx").Sha256);
        Assert.Equal(DownloadStatus.Completed, done.Status);
    }

    [Fact]
    public async Task Transfer_HubIgnoresRangeAfterADrop_StartsTheFileOverWithoutCorruption()
    {
        _bed.SeedMlpRepo("acme/big", hidden: 2048);
        var size = _bed.Read("acme/big", "model.onnx").Length;
        _bed.Hub.Faults.DropAfterBytes = 100_000;
        _bed.Hub.Faults.DropCount = 1;
        _bed.Hub.Faults.IgnoreRange = true;
        var manager = _bed.CreateManager();

        var started = await manager.StartAsync(Hub("acme/big"));
        await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Contains(_bed.Hub.Counters.RangeRequests, r => StartOf(r.Range) > 0);
        Assert.True(_bed.Hub.Counters.BodyBytes > size, "the file was sent again from its start");
        var version = Assert.Single((await _bed.Registry.GetModelAsync("acme/big")).Versions);
        var model = Assert.Single(version.Files, f => f.Name == "model.onnx");
        Assert.Equal(size, model.SizeBytes);
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read("acme/big", "model.onnx")), model.Sha256);
    }

    [Theory]
    [InlineData("model.onnx")] // an LFS file: checked against its sha256
    [InlineData("vocab.txt")] // a plain file: checked against its git blob sha1
    public async Task Transfer_CorruptedFile_FailsWithIntegrityCheckAndRegistersNothing_ThenResumeCompletes(string path)
    {
        _bed.Hub.Faults.CorruptFile(Repo, path);
        var manager = _bed.CreateManager();
        var started = await manager.StartAsync(Hub());

        var error = await Assert.ThrowsAsync<DownloadFailedException>(() => DownloadTestBed.CompleteAsync(manager, started.Id));

        Assert.Equal(ModelKitErrorCodes.IntegrityCheckFailed, error.ErrorCode);
        var failed = await manager.GetAsync(started.Id);
        Assert.Equal(DownloadStatus.Failed, failed.Status);
        Assert.Equal(ModelKitErrorCodes.IntegrityCheckFailed, failed.Error?.Code);
        Assert.Null(await _bed.Registry.FindModelAsync(Repo));

        _bed.Hub.Faults.RestoreFile(Repo, path);
        await manager.ResumeAsync(started.Id);
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Equal(DownloadStatus.Completed, done.Status);
        Assert.Null(done.Error);
        Assert.NotNull(await _bed.Registry.FindModelAsync(Repo));
    }

    [Fact]
    public async Task StartAsync_UnknownRepoOrRevision_ThrowsModelNotFoundAndCreatesNoTask()
    {
        var manager = _bed.CreateManager();

        await Assert.ThrowsAsync<ModelNotFoundException>(() => manager.StartAsync(Hub("acme/nothing-here")));
        var revision = await Assert.ThrowsAsync<ModelNotFoundException>(() => manager.StartAsync(Hub() with { Revision = "v9" }));

        Assert.Contains("v9", revision.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task StartAsync_HubUnreachable_ThrowsSourceUnavailable()
    {
        // A port bound and never listened on: connections to it are refused, and no other test can take it meanwhile.
        using var closed = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        closed.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        var port = ((System.Net.IPEndPoint)closed.LocalEndPoint!).Port;
        var manager = _bed.CreateManager(hubOptions: new HubOptions { Endpoint = new Uri($"http://127.0.0.1:{port}/") });

        await Assert.ThrowsAsync<SourceUnavailableException>(() => manager.StartAsync(Hub()));

        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task StartAsync_HubKeepsAnswering503_ThrowsSourceUnavailable()
    {
        var manager = _bed.CreateManager();
        _bed.Hub.Faults.FailNextRequests = int.MaxValue;

        var error = await Assert.ThrowsAsync<SourceUnavailableException>(() => manager.StartAsync(Hub()));

        Assert.Contains("503", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Transfer_TwoRequestsAnswered503_AreRetriedAndTheDownloadCompletes()
    {
        _bed.Hub.Faults.BytesPerSecond = 2_000;
        var manager = _bed.CreateManager();
        var started = await manager.StartAsync(Hub());
        await manager.PauseAsync(started.Id);
        _bed.Hub.Faults.BytesPerSecond = 0;
        _bed.Hub.Faults.FailNextRequests = 2;

        await manager.ResumeAsync(started.Id);
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Equal(DownloadStatus.Completed, done.Status);
        Assert.Equal(2, _bed.Hub.Counters.FailedByFault);
    }

    [Fact]
    public async Task Transfer_HubSilentLongerThanTheStallTimeout_FailsWithSourceUnavailableAfterItsRetries()
    {
        _bed.Hub.Faults.BytesPerSecond = 2_000;
        var manager = _bed.CreateManager(o =>
        {
            o.StallTimeout = TimeSpan.FromSeconds(1);
            o.MaxRetries = 1;
        });
        var started = await manager.StartAsync(Hub());
        await manager.PauseAsync(started.Id);
        _bed.Hub.Faults.BytesPerSecond = 0;
        _bed.Hub.Faults.Delay = TimeSpan.FromSeconds(30);

        await manager.ResumeAsync(started.Id);
        var error = await Assert.ThrowsAsync<DownloadFailedException>(() => DownloadTestBed.CompleteAsync(manager, started.Id));

        Assert.Equal(ModelKitErrorCodes.SourceUnavailable, error.ErrorCode);
        Assert.Contains("did not answer", error.Message, StringComparison.Ordinal);
        Assert.Equal(DownloadStatus.Failed, (await manager.GetAsync(started.Id)).Status);

        // The hub answers again: the failed task resumes and completes.
        _bed.Hub.Faults.Delay = TimeSpan.Zero;
        await manager.ResumeAsync(started.Id);
        Assert.Equal(DownloadStatus.Completed, (await DownloadTestBed.CompleteAsync(manager, started.Id)).Status);
    }

    [Fact]
    public async Task StartAsync_NotEnoughFreeDisk_ThrowsInsufficientStorageAndCreatesNoTask()
    {
        var manager = _bed.CreateManager(o => o.ReservedFreeBytes = long.MaxValue / 4);

        var error = await Assert.ThrowsAsync<InsufficientStorageException>(() => manager.StartAsync(Hub()));

        Assert.Contains("reserve", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task PauseResumeCancel_CompletedTask_ThrowConflict_AndDeleteKeepsTheModel()
    {
        var manager = _bed.CreateManager();
        var started = await manager.StartAsync(Hub());
        await DownloadTestBed.CompleteAsync(manager, started.Id);

        await Assert.ThrowsAsync<ModelKitConflictException>(() => manager.PauseAsync(started.Id));
        await Assert.ThrowsAsync<ModelKitConflictException>(() => manager.ResumeAsync(started.Id));
        await Assert.ThrowsAsync<ModelKitConflictException>(() => manager.CancelAsync(started.Id));

        await manager.DeleteAsync(started.Id);

        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
        await Assert.ThrowsAsync<DownloadNotFoundException>(() => manager.GetAsync(started.Id));
        Assert.Single((await _bed.Registry.GetModelAsync(Repo)).Versions);

        // The record is gone from the store too: a new manager on the same directory does not list it.
        var next = _bed.CreateManager();
        Assert.Equal(0, (await next.ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task Operations_UnknownTask_ThrowDownloadNotFound()
    {
        var manager = _bed.CreateManager();

        await Assert.ThrowsAsync<DownloadNotFoundException>(() => manager.GetAsync("dl_0000000000000000"));
        await Assert.ThrowsAsync<DownloadNotFoundException>(() => manager.PauseAsync("dl_0000000000000000"));
        await Assert.ThrowsAsync<DownloadNotFoundException>(() => manager.ResumeAsync("dl_0000000000000000"));
        await Assert.ThrowsAsync<DownloadNotFoundException>(() => manager.CancelAsync("dl_0000000000000000"));
        await Assert.ThrowsAsync<DownloadNotFoundException>(() => manager.DeleteAsync("dl_0000000000000000"));
    }

    [Fact]
    public async Task CancelAsync_MidDownload_RemovesTheStagingDirectoryAndRegistersNothing()
    {
        _bed.SeedMlpRepo("acme/big", hidden: 2048);
        _bed.Hub.Faults.BytesPerSecond = 100_000;
        var manager = _bed.CreateManager();
        var started = await manager.StartAsync(Hub("acme/big"));
        await DownloadTestBed.WaitForBytesAsync(manager, started.Id, 20_000);

        var cancelled = await manager.CancelAsync(started.Id);

        Assert.Equal(DownloadStatus.Cancelled, cancelled.Status);
        Assert.False(Directory.Exists(Path.Combine(_bed.StagingRoot, started.Id)));
        Assert.Null(await _bed.Registry.FindModelAsync("acme/big"));
        var error = await Assert.ThrowsAsync<DownloadFailedException>(() => manager.WaitForCompletionAsync(started.Id));
        Assert.Equal(ModelKitErrorCodes.Conflict, error.ErrorCode);
        await Assert.ThrowsAsync<ModelKitConflictException>(() => manager.ResumeAsync(started.Id));
    }

    [Fact]
    public async Task StartAsync_HostileSiblingNames_AreNeverWrittenEvenWithAllowStar()
    {
        _bed.Hub.Faults.AddHostileSiblings(Repo, LocalHubFaults.HostileNames);
        var manager = _bed.CreateManager();

        var byDefault = await manager.StartAsync(Hub());
        var defaultDone = await DownloadTestBed.CompleteAsync(manager, byDefault.Id);
        var everything = await manager.StartAsync(Hub() with { AllowPatterns = ["*"], RegisterAs = "mlp-everything" });
        var everythingDone = await DownloadTestBed.CompleteAsync(manager, everything.Id);

        Assert.DoesNotContain(defaultDone.Files, f => f.Name.Contains("evil", StringComparison.Ordinal) || f.Name.Contains("passwd", StringComparison.Ordinal) || f.Name.Contains('\\', StringComparison.Ordinal));
        Assert.DoesNotContain(everythingDone.Files, f => f.Name.Contains("evil", StringComparison.Ordinal) || f.Name.Contains("passwd", StringComparison.Ordinal) || f.Name.Contains('\\', StringComparison.Ordinal));
        Assert.Contains(everythingDone.Files, f => f.Name == "README.md");
        Assert.Empty(Directory.GetFiles(_bed.Root, "*evil*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(_bed.Root, "passwd", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(_bed.Root)!, "*evil*", SearchOption.TopDirectoryOnly));
    }

    [Fact]
    public async Task WatchAsync_Download_SnapshotThenChangesInOrderWithProgress_AndEndsAfterCompletion()
    {
        _bed.SeedMlpRepo("acme/big", hidden: 1024);
        var manager = _bed.CreateManager();
        await manager.RestoreAsync();
        using var timeout = new CancellationTokenSource(DownloadTestBed.Patience);
        await using var all = manager.WatchAsync(null, timeout.Token).GetAsyncEnumerator();
        var next = all.MoveNextAsync(); // registered before the task exists
        _bed.Hub.Faults.BytesPerSecond = 200_000;

        var started = await manager.StartAsync(Hub("acme/big"));
        var events = new List<DownloadEvent>();
        while (await next)
        {
            events.Add(all.Current);
            if (all.Current.Kind == DownloadEventKind.Changed && all.Current.Task.Status == DownloadStatus.Completed) break;
            next = all.MoveNextAsync();
        }

        Assert.All(events, e => Assert.Equal(started.Id, e.Task.Id));
        var changes = events.Where(e => e.Kind == DownloadEventKind.Changed).Select(e => e.Task.Status).ToList();
        Assert.Equal([DownloadStatus.Pending, DownloadStatus.Downloading, DownloadStatus.Registering, DownloadStatus.Completed], changes);
        var progress = events.Where(e => e.Kind == DownloadEventKind.Progress).ToList();
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.Equal(DownloadStatus.Downloading, p.Task.Status));
        Assert.True(progress.Last().Task.BytesDownloaded >= progress.First().Task.BytesDownloaded);
        Assert.Contains(progress, p => p.Task.BytesPerSecond > 0);

        // A watch of one finished task: its snapshot, then the end.
        var single = new List<DownloadEvent>();
        await foreach (var e in manager.WatchAsync(started.Id, timeout.Token)) single.Add(e);
        var only = Assert.Single(single);
        Assert.Equal(DownloadEventKind.Snapshot, only.Kind);
        Assert.Equal(DownloadStatus.Completed, only.Task.Status);
    }

    [Fact]
    public async Task WatchAsync_OneRunningTask_EndsWhenItCompletes()
    {
        _bed.Hub.Faults.BytesPerSecond = 100_000;
        var manager = _bed.CreateManager();
        var started = await manager.StartAsync(Hub());
        using var timeout = new CancellationTokenSource(DownloadTestBed.Patience);
        var events = new List<DownloadEvent>();

        await foreach (var e in manager.WatchAsync(started.Id, timeout.Token))
        {
            events.Add(e);
            if (e.Kind == DownloadEventKind.Progress) _bed.Hub.Faults.BytesPerSecond = 0;
        }

        Assert.Equal(DownloadEventKind.Snapshot, events[0].Kind);
        Assert.Equal(DownloadStatus.Completed, events[^1].Task.Status);
        Assert.Equal(DownloadEventKind.Changed, events[^1].Kind);
        Assert.False(timeout.IsCancellationRequested);
    }

    [Fact]
    public async Task Pump_OneSlot_SecondTaskWaitsPendingUntilTheFirstEnds()
    {
        _bed.SeedMlpRepo("acme/big", hidden: 1024);
        _bed.Hub.Faults.BytesPerSecond = 100_000;
        var manager = _bed.CreateManager(o => o.MaxConcurrentDownloads = 1);
        await manager.RestoreAsync();
        using var timeout = new CancellationTokenSource(DownloadTestBed.Patience);
        await using var all = manager.WatchAsync(null, timeout.Token).GetAsyncEnumerator();
        var next = all.MoveNextAsync();

        var first = await manager.StartAsync(Hub("acme/big"));
        var second = await manager.StartAsync(Hub() with { RegisterAs = "second" });
        await DownloadTestBed.WaitForBytesAsync(manager, first.Id, 20_000);

        Assert.Equal(DownloadStatus.Pending, (await manager.GetAsync(second.Id)).Status);
        var queue = manager.GetQueue();
        Assert.Equal(first.Id, Assert.Single(queue.Active).Id);
        Assert.Equal(second.Id, Assert.Single(queue.Pending).Id);

        _bed.Hub.Faults.BytesPerSecond = 0;
        var changes = new List<(string Id, DownloadStatus Status)>();
        var completed = 0;
        while (completed < 2 && await next)
        {
            if (all.Current.Kind == DownloadEventKind.Changed)
            {
                changes.Add((all.Current.Task.Id, all.Current.Task.Status));
                if (all.Current.Task.Status == DownloadStatus.Completed) completed++;
            }

            if (completed < 2) next = all.MoveNextAsync(); // never dispose the watch while a read is pending
        }

        var firstCompleted = changes.IndexOf((first.Id, DownloadStatus.Completed));
        var secondStarted = changes.IndexOf((second.Id, DownloadStatus.Downloading));
        Assert.True(firstCompleted >= 0 && secondStarted > firstCompleted, string.Join(", ", changes));
        Assert.Equal(DownloadStatus.Completed, (await DownloadTestBed.CompleteAsync(manager, second.Id)).Status);
    }

    [Fact]
    public async Task StartAsync_VersionAlreadyRegistered_ThrowsModelAlreadyExists_AndTheSameFilesAreNotRegisteredTwice()
    {
        var manager = _bed.CreateManager();
        var started = await manager.StartAsync(Hub() with { Version = "v1" });
        await DownloadTestBed.CompleteAsync(manager, started.Id);

        await Assert.ThrowsAsync<ModelAlreadyExistsException>(() => manager.StartAsync(Hub() with { Version = "v1" }));

        // Without a version, a second download of the same files is the version already there, not a copy of it …
        var again = await manager.StartAsync(Hub());
        Assert.Equal("v1", (await DownloadTestBed.CompleteAsync(manager, again.Id)).RegisteredVersion);
        Assert.Single((await _bed.Registry.GetModelAsync(Repo)).Versions);

        // … and once the hub's files change, the next version.
        _bed.Write(Repo, "config.json", """{"model_type": "mlp", "hidden_size": 256, "revised": true}""");
        var changed = await manager.StartAsync(Hub());
        Assert.NotEqual("v1", (await DownloadTestBed.CompleteAsync(manager, changed.Id)).RegisteredVersion);
        Assert.Equal(2, (await _bed.Registry.GetModelAsync(Repo)).Versions.Count);
    }

    private static long StartOf(string range) =>
        range.StartsWith("bytes=", StringComparison.Ordinal) && range.EndsWith('-') && long.TryParse(range["bytes=".Length..^1], System.Globalization.CultureInfo.InvariantCulture, out var start) ? start : -1;
}
