using System.Security.Cryptography;
using System.Text;
using ModelKit.Registry;

namespace ModelKit.Tests.Registry;

/// <summary>
/// The ingest pipeline through the registry: versions of several files, presented together and stored once by
/// content; and on every failure (rejected, too large, cancelled) nothing left behind.
/// </summary>
public class ArtifactIngestPipelineTests : RegistryTestBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private ModelRegistry Open(long maxArtifactBytes = 1 << 20) => OpenRegistry(maxArtifactBytes: maxArtifactBytes);

    private static ArtifactSource File(string name, string text) => new(name, new MemoryStream(Encoding.UTF8.GetBytes(text)));

    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private string[] Entries(string folder) => Directory.Exists(Dir.Combine(folder))
        ? Directory.GetFileSystemEntries(Dir.Combine(folder), "*", SearchOption.AllDirectories).Where(e => !Directory.Exists(e) || folder == "tmp").ToArray()
        : [];

    [Fact]
    public async Task AddVersionAsync_SeveralFiles_ArePresentedTogetherAndStoredOncePerContent()
    {
        var registry = Open();
        await registry.CreateModelAsync(new ModelDefinition { Id = "minilm", Name = "MiniLM" });
        var v1 = await registry.AddVersionAsync("minilm", null,
            [File("config.json", "{}"), File("model.onnx", "model v1"), File("model.onnx.data", "weights"), File("tokenizer/vocab.txt", "[PAD]\n[UNK]")],
            primaryFile: "model.onnx");

        Assert.Equal(["model.onnx", "config.json", "model.onnx.data", "tokenizer/vocab.txt"], v1.Files.Select(f => f.Name));
        Assert.Equal((Sha("model v1"), 8 + 2 + 7 + 11L), (v1.Sha256, v1.SizeBytes));
        Assert.Equal(ModelVersionStatus.Ready, v1.Status);
        var directory = Path.GetDirectoryName(v1.Files[0].Path)!;
        Assert.Equal("weights", await System.IO.File.ReadAllTextAsync(Path.Combine(directory, "model.onnx.data")));
        Assert.Equal("[PAD]\n[UNK]", await System.IO.File.ReadAllTextAsync(Path.Combine(directory, "tokenizer", "vocab.txt")));
        Assert.Equal(Path.Combine(directory, "tokenizer", "vocab.txt"), v1.Files[3].Path);
        Assert.DoesNotContain("minilm", directory, StringComparison.Ordinal);
        Assert.Equal(4, Entries("blobs").Length);

        // A second version sharing the weights and the vocabulary stores only its new model file.
        var v2 = await registry.AddVersionAsync("minilm", null,
            [File("model.onnx", "model v2"), File("model.onnx.data", "weights"), File("tokenizer/vocab.txt", "[PAD]\n[UNK]")]);
        Assert.NotEqual(Path.GetDirectoryName(v2.Files[0].Path), directory);
        Assert.Equal(5, Entries("blobs").Length);

        // Deleting the first removes its directory and the content only it had.
        await registry.DeleteVersionAsync("minilm", "1");
        Assert.False(Directory.Exists(directory));
        Assert.Equal(3, Entries("blobs").Length);
        Assert.Equal("weights", await System.IO.File.ReadAllTextAsync(v2.Files[1].Path));
        Assert.Equal("2", (await registry.GetModelAsync("minilm")).DefaultVersion);
        Assert.Empty(Entries("tmp"));
    }

    [Fact]
    public async Task RegisterAsync_HuggingFaceId_IsStoredWithoutTheIdBecomingAPath()
    {
        var registry = Open();
        var hub = await registry.RegisterAsync(new ModelDefinition { Id = "microsoft/DialoGPT-medium", Name = "DialoGPT" },
            [File("model.onnx", "model"), File("tokenizer.json", "{}")]);
        var org = await registry.RegisterAsync(new ModelDefinition { Id = "microsoft", Name = "Org" },
            [File("model.onnx", "triple: other"), File("tokenizer.json", "{}")], version: "DialoGPT-medium");

        Assert.Equal("microsoft/DialoGPT-medium", (await registry.GetModelAsync("microsoft/DialoGPT-medium")).Id);
        Assert.NotEqual(Path.GetDirectoryName(hub.Versions[0].Files[0].Path), Path.GetDirectoryName(org.Versions[0].Files[0].Path));
        Assert.DoesNotContain(Directory.GetFileSystemEntries(Dir.Path, "*", SearchOption.AllDirectories), e => e.Contains("microsoft", StringComparison.OrdinalIgnoreCase));
    }

    [Theory]
    [InlineData("a/b/c")]
    [InlineData("/a")]
    [InlineData("a/")]
    [InlineData("../a")]
    [InlineData("a/..")]
    [InlineData("a//b")]
    public async Task CreateModelAsync_IdWithAnythingButOneOrgSlash_IsRejected(string id)
    {
        var error = await Assert.ThrowsAsync<InvalidModelConfigException>(() => Open().CreateModelAsync(new ModelDefinition { Id = id, Name = "X" }));
        Assert.Contains("'org/name'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../evil.onnx")]
    [InlineData("sub/../../evil")]
    [InlineData("/etc/passwd")]
    [InlineData("dir\\model.onnx")]
    [InlineData("c:/model.onnx")]
    [InlineData("bell\u0007.txt")]
    [InlineData("dir//model.onnx")]
    [InlineData("MODEL.ONNX")]
    [InlineData("model.onnx/inner")]
    public async Task AddVersionAsync_UnsafeOrCollidingNames_AreRejectedBeforeAnythingIsStored(string name)
    {
        var registry = Open();
        await registry.CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        await Assert.ThrowsAsync<InvalidModelConfigException>(() => registry.AddVersionAsync("m", null, [File("model.onnx", "model"), File(name, "x")]));
        Assert.Empty((await registry.GetModelAsync("m")).Versions);
        Assert.Empty(Entries("blobs"));
    }

    [Fact]
    public async Task AddVersionAsync_PrimaryRejectedByTheBackend_LeavesNothing_AndTheMessageHasNoServerPath()
    {
        var registry = Open();
        await registry.CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var error = await Assert.ThrowsAsync<InvalidModelConfigException>(() =>
            registry.AddVersionAsync("m", null, [File("weights.bin", "weights"), File("onnx/model.onnx", "bad bytes")], primaryFile: "onnx/model.onnx"));

        Assert.Equal("'onnx/model.onnx' is not a model.", error.Message);
        Assert.Empty((await registry.GetModelAsync("m")).Versions);
        Assert.Empty(Entries("blobs"));
        Assert.Empty(Entries("versions"));
        Assert.Empty(Entries("tmp"));
    }

    [Fact]
    public async Task AddVersionAsync_FilesTogetherOverTheLimit_AreRejectedAndLeaveNothing()
    {
        var registry = Open(maxArtifactBytes: 10);
        await registry.CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var error = await Assert.ThrowsAsync<PayloadTooLargeException>(() => registry.AddVersionAsync("m", null, [File("a.onnx", "123456"), File("b.bin", "123456")]));
        Assert.Contains("files together are larger than the limit of 10 bytes", error.Message, StringComparison.Ordinal);
        Assert.Empty((await registry.GetModelAsync("m")).Versions);
        Assert.Empty(Entries("blobs"));
        Assert.Empty(Entries("tmp"));
    }

    [Fact]
    public async Task AddVersionAsync_CancelledMidStream_LeavesNothing()
    {
        var registry = Open();
        await registry.CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var changes = new List<ModelRegistryChange>();
        registry.Changed += (_, change) => changes.Add(change);
        var content = new GatedStream(Encoding.UTF8.GetBytes("mod"), Encoding.UTF8.GetBytes("el"));
        using var cancellation = new CancellationTokenSource();
        var upload = registry.AddVersionAsync("m", null, content, "m.onnx", cancellation.Token);
        await content.FirstReadDone.Task.WaitAsync(Wait);
        Assert.Equal(ModelVersionStatus.Uploading, (await registry.GetModelAsync("m")).Versions.Single().Status);

        await cancellation.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => upload.WaitAsync(Wait));
        Assert.Empty((await registry.GetModelAsync("m")).Versions);
        Assert.Empty(Entries("tmp"));
        Assert.Equal([new ModelRegistryChange(ModelRegistryChangeKind.VersionFailed, "m", "1")], changes);
    }

    [Fact]
    public async Task AddVersionDirectoryAsync_ReadsSubfoldersAndLeavesOutHiddenFiles()
    {
        var source = Dir.Combine("download");
        Directory.CreateDirectory(Path.Combine(source, "tokenizer"));
        Directory.CreateDirectory(Path.Combine(source, ".cache"));
        await System.IO.File.WriteAllTextAsync(Path.Combine(source, "model.onnx"), "model");
        await System.IO.File.WriteAllTextAsync(Path.Combine(source, "model.onnx.data"), "weights");
        await System.IO.File.WriteAllTextAsync(Path.Combine(source, "tokenizer", "vocab.txt"), "[PAD]");
        await System.IO.File.WriteAllTextAsync(Path.Combine(source, ".gitattributes"), "*.onnx lfs");
        await System.IO.File.WriteAllTextAsync(Path.Combine(source, ".cache", "download.lock"), "");
        var registry = Open();
        await registry.CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });

        var version = await registry.AddVersionDirectoryAsync("m", source, "model.onnx");
        Assert.Equal(["model.onnx", "model.onnx.data", "tokenizer/vocab.txt"], version.Files.Select(f => f.Name));
        var missing = await Assert.ThrowsAsync<InvalidModelConfigException>(() => registry.AddVersionDirectoryAsync("m", source, "onnx/model.onnx"));
        Assert.Contains("primary file 'onnx/model.onnx'", missing.Message, StringComparison.Ordinal);
    }

}
