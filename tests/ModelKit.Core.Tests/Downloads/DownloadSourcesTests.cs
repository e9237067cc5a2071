using System.Formats.Tar;
using System.IO.Compression;
using ModelKit.Downloads;

namespace ModelKit.Tests.Downloads;

/// <summary>The <c>url</c> and <c>file</c> sources, archives, and the choice of source by name, through the download manager.</summary>
public sealed class DownloadSourcesTests : IAsyncLifetime
{
    private const string Repo = DownloadTestBed.Repo;
    private const string Archives = "acme/archives";
    private DownloadTestBed _bed = null!;

    public async Task InitializeAsync()
    {
        _bed = await DownloadTestBed.StartAsync();
        _bed.SeedMlpRepo();
    }

    public async Task DisposeAsync() => await _bed.DisposeAsync();

    private Uri Resolve(string repo, string path) => new(_bed.Hub.Endpoint, $"{repo}/resolve/main/{path}");

    [Fact]
    public async Task UrlSource_OnnxFileBehindARedirect_IsDownloadedAndRegistered()
    {
        var manager = _bed.CreateManager(o => o.AllowPrivateNetworkUrls = true);

        var started = await manager.StartAsync(new DownloadRequest { Source = "url", ModelId = "mlp-from-url", Url = Resolve(Repo, "model.onnx") });
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        var model = await _bed.Registry.GetModelAsync("mlp-from-url");
        Assert.Equal("url", model.Metadata["source"]);
        var file = Assert.Single(Assert.Single(model.Versions).Files);
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read(Repo, "model.onnx")), file.Sha256);
        Assert.Equal(DownloadStatus.Completed, done.Status);
    }

    [Fact]
    public async Task UrlSource_DroppedConnection_ResumesWithRangeAndCompletes()
    {
        _bed.SeedMlpRepo("acme/big", hidden: 2048);
        _bed.Hub.Faults.DropAfterBytes = 100_000;
        _bed.Hub.Faults.DropCount = 1;
        var manager = _bed.CreateManager(o => o.AllowPrivateNetworkUrls = true);

        var started = await manager.StartAsync(new DownloadRequest { Source = "url", ModelId = "big-from-url", Url = Resolve("acme/big", "model.onnx") });
        await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Equal(1, _bed.Hub.Counters.Dropped);
        Assert.Contains(_bed.Hub.Counters.RangeRequests, r => r.Range != "bytes=0-");
        var file = Assert.Single(Assert.Single((await _bed.Registry.GetModelAsync("big-from-url")).Versions).Files);
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read("acme/big", "model.onnx")), file.Sha256);
    }

    [Theory]
    [InlineData("model.tar.gz")]
    [InlineData("model.zip")]
    public async Task UrlSource_ArchiveWithPathInArchive_RegistersTheFolderInside(string archiveName)
    {
        var model = _bed.Read(Repo, "model.onnx");
        var vocab = _bed.Read(Repo, "vocab.txt");
        _bed.Write(Archives, archiveName, archiveName.EndsWith(".zip", StringComparison.Ordinal)
            ? Zip(("export/model/model.onnx", model), ("export/model/vocab.txt", vocab), ("export/README.md", "x"u8.ToArray()))
            : TarGz(("export/model/model.onnx", model), ("export/model/vocab.txt", vocab), ("export/README.md", "x"u8.ToArray())));
        var manager = _bed.CreateManager(o => o.AllowPrivateNetworkUrls = true);

        var started = await manager.StartAsync(new DownloadRequest { Source = "url", ModelId = "archived", Url = Resolve(Archives, archiveName), PathInArchive = "export/model" });
        await DownloadTestBed.CompleteAsync(manager, started.Id);

        var version = Assert.Single((await _bed.Registry.GetModelAsync("archived")).Versions);
        Assert.Equal(["model.onnx", "vocab.txt"], version.Files.Select(f => f.Name).Order(StringComparer.Ordinal));
        Assert.Equal(DownloadTestBed.Sha256(model), Assert.Single(version.Files, f => f.Name == "model.onnx").Sha256);
        Assert.False(Directory.Exists(Path.Combine(_bed.StagingRoot, started.Id)));
    }

    [Theory]
    [InlineData("../x.onnx")]
    [InlineData("/x.onnx")]
    [InlineData("a/../../x.onnx")]
    public async Task UrlSource_ZipWithAnEscapingEntry_FailsWithInvalidModelConfigAndWritesNothingOutside(string entry)
    {
        _bed.Write(Archives, "slip.zip", Zip(("model.onnx", _bed.Read(Repo, "model.onnx")), (entry, "evil"u8.ToArray())));
        var manager = _bed.CreateManager(o => o.AllowPrivateNetworkUrls = true);

        var started = await manager.StartAsync(new DownloadRequest { Source = "url", ModelId = "slip", Url = Resolve(Archives, "slip.zip") });
        var error = await Assert.ThrowsAsync<DownloadFailedException>(() => DownloadTestBed.CompleteAsync(manager, started.Id));

        Assert.Equal(ModelKitErrorCodes.InvalidModelConfig, error.ErrorCode);
        Assert.Null(await _bed.Registry.FindModelAsync("slip"));
        Assert.Empty(Directory.GetFiles(_bed.Root, "x.onnx", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task UrlSource_LoopbackAddressWithoutPermission_ThrowsInvalidInput()
    {
        var manager = _bed.CreateManager();

        var error = await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(new DownloadRequest { Source = "url", ModelId = "m", Url = Resolve(Repo, "model.onnx") }));

        Assert.Contains("AllowPrivateNetworkUrls", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task UrlSource_MissingFileOrWrongKind_ThrowsBeforeCreatingATask()
    {
        var manager = _bed.CreateManager(o => o.AllowPrivateNetworkUrls = true);

        await Assert.ThrowsAsync<ModelNotFoundException>(() => manager.StartAsync(new DownloadRequest { Source = "url", ModelId = "m", Url = new Uri(_bed.Hub.Endpoint, "_lfs/" + new string('0', 64) + "/model.onnx") }));
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(new DownloadRequest { Source = "url", ModelId = "m", Url = Resolve(Repo, "README.md") }));
        await Assert.ThrowsAsync<InvalidInputException>(() => manager.StartAsync(new DownloadRequest { Source = "url", ModelId = "m" }));
        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task FileSource_WithoutLocalRoots_IsOff()
    {
        var manager = _bed.CreateManager();

        var error = await Assert.ThrowsAsync<InvalidSourceException>(() => manager.StartAsync(new DownloadRequest { Source = "file", ModelId = "m", Path = Path.Combine(_bed.HubRoot, Repo) }));

        Assert.Contains("LocalRoots", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FileSource_PathOutsideTheRoots_ThrowsModelNotFound()
    {
        var root = Path.Combine(_bed.HubRoot, "acme");
        var manager = _bed.CreateManager(o => o.LocalRoots = [root]);

        await Assert.ThrowsAsync<ModelNotFoundException>(() => manager.StartAsync(new DownloadRequest { Source = "file", ModelId = "m", Path = _bed.DataDirectory }));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => manager.StartAsync(new DownloadRequest { Source = "file", ModelId = "m", Path = "../../" }));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => manager.StartAsync(new DownloadRequest { Source = "file", ModelId = "m", Path = "mlp/nothing" }));
        Assert.Equal(0, (await manager.ListAsync(new DownloadQuery())).Total);
    }

    [Fact]
    public async Task FileSource_DirectoryInsideARoot_TakesTheDefaultSelectionAndCompletes()
    {
        var manager = _bed.CreateManager(o => o.LocalRoots = [Path.Combine(_bed.HubRoot, "acme")]);

        var started = await manager.StartAsync(new DownloadRequest { Source = "file", ModelId = "local-mlp", Path = "mlp" });
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Equal(["config.json", "model.onnx", "vocab.txt"], done.Files.Select(f => f.Name).Order(StringComparer.Ordinal));
        var version = Assert.Single((await _bed.Registry.GetModelAsync("local-mlp")).Versions);
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read(Repo, "vocab.txt")), Assert.Single(version.Files, f => f.Name == "vocab.txt").Sha256);
    }

    [Fact]
    public async Task StartAsync_OllamaSource_IsRefusedSayingWhy()
    {
        var manager = _bed.CreateManager();

        var error = await Assert.ThrowsAsync<InvalidSourceException>(() => manager.StartAsync(new DownloadRequest { Source = "ollama", ModelId = "llama3" }));

        Assert.Contains("GGUF", error.Message, StringComparison.Ordinal);
        Assert.Contains("huggingface", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("civitai")]
    [InlineData("")]
    public async Task StartAsync_UnknownSource_ThrowsInvalidSourceListingTheKnownOnes(string source)
    {
        var manager = _bed.CreateManager();

        var error = await Assert.ThrowsAsync<InvalidSourceException>(() => manager.StartAsync(new DownloadRequest { Source = source, ModelId = "m" }));

        Assert.Equal(ModelKitErrorCodes.InvalidSource, error.ErrorCode);
        Assert.Contains("file, huggingface, url", error.Message, StringComparison.Ordinal);
    }

    private static byte[] Zip(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var stream = zip.CreateEntry(name).Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    private static byte[] TarGz(params (string Name, byte[] Content)[] entries)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var tar = new TarWriter(gzip))
        {
            foreach (var (name, content) in entries)
            {
                tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content) });
            }
        }

        return buffer.ToArray();
    }
}
