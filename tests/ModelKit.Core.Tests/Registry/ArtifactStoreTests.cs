using System.Text;
using Microsoft.Extensions.Options;
using ModelKit.Registry;

namespace ModelKit.Tests.Registry;

/// <summary>
/// Artifact integrity (VerifyArtifactsAsync): a missing, unreadable or corrupt file is MODEL_UNAVAILABLE naming the
/// model, the version and the file as uploaded, never a server path; content is hashed once per process start.
/// </summary>
public sealed class ArtifactStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();

    // A new instance stands for a process that has just started: nothing is verified yet.
    private ModelRegistry Open() => new(Options.Create(new ModelKitOptions { DataDirectory = _dir.Path }), [_backend]);

    private static MemoryStream Content(string text) => new(Encoding.UTF8.GetBytes(text));

    private static ArtifactSource File(string name, string text) => new(name, new MemoryStream(Encoding.UTF8.GetBytes(text)));

    private void AssertNoServerPath(Exception error)
    {
        Assert.DoesNotContain(_dir.Path, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("blobs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyArtifactsAsync_MissingFile_ThrowsModelUnavailableNamingModelAndVersion()
    {
        var registry = Open();
        var model = await registry.RegisterAsync(new ModelDefinition { Id = "org/m", Name = "M" }, Content("model"), "m.onnx");
        System.IO.File.Delete(model.Versions[0].Files[0].Path);

        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => registry.VerifyArtifactsAsync(model.Versions[0]));
        Assert.Equal(ModelKitErrorCodes.ModelUnavailable, error.ErrorCode);
        Assert.Contains("Version '1' of model 'org/m'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'m.onnx' is missing or unreadable", error.Message, StringComparison.Ordinal);
        AssertNoServerPath(error);
    }

    [Fact]
    public async Task VerifyArtifactsAsync_DamagedAfterTheUpload_IsFoundByTheSameProcess()
    {
        var registry = Open();
        var model = await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("model"), "m.onnx");
        await System.IO.File.WriteAllTextAsync(model.Versions[0].Files[0].Path, "m0de1");

        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => registry.VerifyArtifactsAsync(model.Versions[0]));
        Assert.Contains("'m.onnx' does not match its recorded sha256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyArtifactsAsync_HashesEachContentOnceAfterStart()
    {
        var registry = Open();
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("model"), "m.onnx");
        await registry.AddVersionAsync("m", null, Content("model"), "m.onnx");
        var model = await registry.GetModelAsync("m");
        var started = Open();
        await started.VerifyArtifactsAsync(model.Versions[0]);

        // Damaged behind the registry's back (same size): this process has hashed that content already, for either version.
        await System.IO.File.WriteAllTextAsync(model.Versions[0].Files[0].Path, "m0de1");
        await started.VerifyArtifactsAsync(model.Versions[0]);
        await started.VerifyArtifactsAsync(model.Versions[1]);

        // The next start hashes it again, and sees the damage.
        var restarted = Open();
        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => restarted.VerifyArtifactsAsync(model.Versions[1]));
        Assert.Contains("Version '2' of model 'm'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'m.onnx' does not match its recorded sha256", error.Message, StringComparison.Ordinal);
        AssertNoServerPath(error);
    }

    [Fact]
    public async Task VerifyArtifactsAsync_CorruptContent_IsReportedForEveryVersionSharingIt_UntilItIsUploadedAgain()
    {
        var registry = Open();
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("model"), "m.onnx");
        await registry.AddVersionAsync("m", null, [File("m.onnx", "other"), File("m.onnx.data", "model")]);
        var model = await registry.GetModelAsync("m");
        var blob = model.Versions[0].Files[0].Path;
        await System.IO.File.WriteAllTextAsync(blob, "rotten");

        var first = await Assert.ThrowsAsync<ModelUnavailableException>(() => registry.VerifyArtifactsAsync(model.Versions[0]));
        Assert.Contains("Version '1' of model 'm'", first.Message, StringComparison.Ordinal);
        var second = await Assert.ThrowsAsync<ModelUnavailableException>(() => registry.VerifyArtifactsAsync(model.Versions[1]));
        Assert.Contains("Version '2' of model 'm' cannot be served: its file 'm.onnx.data' does not match", second.Message, StringComparison.Ordinal);
        AssertNoServerPath(second);

        // Uploading the same content again rewrites the stored copy, which every version shares.
        await registry.AddVersionAsync("m", null, Content("model"), "again.onnx");
        Assert.Equal("model", await System.IO.File.ReadAllTextAsync(blob));
        foreach (var version in (await registry.GetModelAsync("m")).Versions) await registry.VerifyArtifactsAsync(version);
        foreach (var version in (await Open().GetModelAsync("m")).Versions) await Open().VerifyArtifactsAsync(version);
    }

    [Fact]
    public async Task VerifyArtifactsAsync_VersionOfSeveralFiles_RebuildsALostLinkButReportsLostContent()
    {
        var registry = Open();
        var model = await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, [File("m.onnx", "model"), File("m.onnx.data", "weights")]);
        var version = model.Versions[0];

        System.IO.File.Delete(version.Files[1].Path);
        await registry.VerifyArtifactsAsync(version);
        Assert.Equal("weights", await System.IO.File.ReadAllTextAsync(version.Files[1].Path));

        var blob = Path.Combine(_dir.Path, "blobs", "sha256", version.Files[1].Sha256[..2], version.Files[1].Sha256);
        System.IO.File.Delete(blob);
        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => Open().VerifyArtifactsAsync(version));
        Assert.Contains("its file 'm.onnx.data' is missing or unreadable", error.Message, StringComparison.Ordinal);
        AssertNoServerPath(error);
    }

    public void Dispose() => _dir.Dispose();
}
