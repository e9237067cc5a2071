using System.Diagnostics;
using System.Text;
using ModelKit.Registry;

namespace ModelKit.Tests.Registry;

/// <summary>Crash recovery at start: uploads of processes that died are failed and cleaned up; live ones are left alone.</summary>
public class UploadRecoveryTests : RegistryTestBase
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private string Tmp => Dir.Combine("tmp");

    private ModelRegistry Open() => OpenRegistry();

    private static MemoryStream Content(string text) => new(Encoding.UTF8.GetBytes(text));

    // What a process killed in the middle of an upload leaves behind: the version's row 'uploading' with its upload
    // token, the upload's lock file (no longer locked: the kernel drops a process's locks when it dies) and the
    // half-received file.
    private async Task<string> LeaveUploadOfADeadProcessAsync(string modelId, string version)
    {
        var token = Guid.NewGuid().ToString("N");
        var store = await OpenStoreAsync();
        Assert.Equal(version, await store.TryReserveVersionAsync(modelId, version, token, DateTimeOffset.UtcNow));
        File.WriteAllBytes(LockFile(token), []);
        Directory.CreateDirectory(Path.Combine(Tmp, token, "files"));
        File.WriteAllText(Path.Combine(Tmp, token, "files", "m.onnx"), "half of a mod");
        return token;
    }

    private string LockFile(string token) => Path.Combine(Tmp, token + ".lock");

    [Fact]
    public async Task Start_UploadOfAProcessThatDied_FailsWithAReason_CanBeUploadedAgainOrDeleted_AndItsFilesAreGone()
    {
        await Open().CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        await LeaveUploadOfADeadProcessAsync("m", "1");
        await LeaveUploadOfADeadProcessAsync("m", "2");

        var registry = Open();
        var changes = new List<ModelRegistryChange>();
        registry.Changed += (_, change) => changes.Add(change);
        var model = await registry.GetModelAsync("m");

        Assert.All(model.Versions, v => Assert.Equal((ModelVersionStatus.Failed, UploadRecovery.InterruptedReason), (v.Status, v.Error)));
        Assert.Contains("the upload was interrupted", model.Versions[0].Error, StringComparison.OrdinalIgnoreCase);
        Assert.Equal([new(ModelRegistryChangeKind.VersionFailed, "m", "1"), new(ModelRegistryChangeKind.VersionFailed, "m", "2")], changes);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Tmp));

        var retried = await registry.AddVersionAsync("m", "1", Content("model"), "m.onnx");
        Assert.Equal((ModelVersionStatus.Ready, (string?)null), (retried.Status, retried.Error));
        await registry.DeleteVersionAsync("m", "2");
        model = await registry.GetModelAsync("m");
        Assert.Equal(["1"], model.Versions.Select(v => v.Version));
        Assert.Equal("1", model.DefaultVersion);
    }

    [Fact]
    public async Task Start_UploadReceivedIntoAnotherDataDirectory_IsLeftAlone()
    {
        // A node with a data directory of its own over the same metadata store: its token starts with that directory's id,
        // and its lock file is in its own tmp/, not here.
        await Open().CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var store = await OpenStoreAsync();
        Assert.Equal("1", await store.TryReserveVersionAsync("m", "1", "0a1b2c3d4e5f-" + Guid.NewGuid().ToString("N"), DateTimeOffset.UtcNow));
        Assert.NotEqual("0a1b2c3d4e5f", (await File.ReadAllTextAsync(Dir.Combine("data-directory-id"))).Trim());

        Assert.Equal(ModelVersionStatus.Uploading, (await Open().GetModelAsync("m")).Versions.Single().Status);
        var own = await Open().AddVersionAsync("m", "2", Content("model"), "m.onnx"); // this directory's own uploads still complete
        Assert.Equal(ModelVersionStatus.Ready, own.Status);
    }

    [Fact]
    public async Task Start_LiveUploadOfAnotherInstance_IsLeftAloneAndCompletes()
    {
        var uploader = Open();
        await uploader.CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var content = new GatedStream(Encoding.UTF8.GetBytes("mod"), Encoding.UTF8.GetBytes("el"));
        var upload = uploader.AddVersionAsync("m", "1", content, "m.onnx");
        await content.FirstReadDone.Task.WaitAsync(Wait);

        // Another process starting over the same directory while the upload is in flight.
        var other = Open();
        Assert.Equal(ModelVersionStatus.Uploading, (await other.GetModelAsync("m")).Versions.Single().Status);
        Assert.Equal(2, Directory.EnumerateFileSystemEntries(Tmp).Count()); // the upload's lock file and folder

        content.Release.SetResult();
        var version = await upload.WaitAsync(Wait);
        Assert.Equal(ModelVersionStatus.Ready, version.Status);
        Assert.Equal(ModelVersionStatus.Ready, (await other.GetModelAsync("m")).Versions.Single().Status);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Tmp));
    }

    [Fact]
    public async Task Start_UploadWhoseLockIsHeld_IsLeftAloneUntilItsHolderGoes()
    {
        await Open().CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var token = await LeaveUploadOfADeadProcessAsync("m", "1");

        using (new FileStream(LockFile(token), FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            Assert.Equal(ModelVersionStatus.Uploading, (await Open().GetModelAsync("m")).Versions.Single().Status);
            Assert.True(File.Exists(Path.Combine(Tmp, token, "files", "m.onnx")));
        }

        Assert.Equal(ModelVersionStatus.Failed, (await Open().GetModelAsync("m")).Versions.Single().Status);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Tmp));
    }

    [SkippableFact]
    public async Task Start_UploadLockedByAnotherProcess_IsLeftAlone_AndFailedOnceThatProcessIsKilled()
    {
        // flock(1) takes the same advisory lock (flock(2)) as .NET does for FileShare.None on Unix; with --close only
        // flock itself holds it (not the command it runs), so the lock goes when flock is killed.
        Skip.IfNot(File.Exists("/usr/bin/flock"), "flock(1) (util-linux) is not installed.");
        await Open().CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var token = await LeaveUploadOfADeadProcessAsync("m", "1");
        var start = new ProcessStartInfo("/usr/bin/flock", ["--exclusive", "--close", LockFile(token), "sh", "-c", "echo locked; exec cat"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
        };
        using var holder = Process.Start(start)!;
        try
        {
            Assert.Equal("locked", await holder.StandardOutput.ReadLineAsync().WaitAsync(Wait));
            Assert.Equal(ModelVersionStatus.Uploading, (await Open().GetModelAsync("m")).Versions.Single().Status);
            Assert.True(File.Exists(LockFile(token)));
        }
        finally
        {
            holder.Kill(entireProcessTree: true);
            await holder.WaitForExitAsync().WaitAsync(Wait);
        }

        var version = (await Open().GetModelAsync("m")).Versions.Single();
        Assert.Equal((ModelVersionStatus.Failed, UploadRecovery.InterruptedReason), (version.Status, version.Error));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Tmp));
    }

    [Fact]
    public async Task Start_TemporaryFilesOfDeadUploads_AreDeletedWhateverTheirAge_ButNotThoseInUse()
    {
        await Open().CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var orphan = Guid.NewGuid().ToString("N"); // a process that died before it reserved its version
        File.WriteAllBytes(LockFile(orphan), []);
        Directory.CreateDirectory(Path.Combine(Tmp, orphan, "files"));
        var lockless = Path.Combine(Tmp, Guid.NewGuid().ToString("N")); // a folder whose lock file is already gone
        Directory.CreateDirectory(lockless);
        var recentPart = Path.Combine(Tmp, "recent.part"); // from an earlier release, its process gone a second ago
        File.WriteAllText(recentPart, "half an upload");
        var livePart = Path.Combine(Tmp, "live.part"); // from an earlier release, still being written
        File.WriteAllText(livePart, "an upload in flight");

        using (new FileStream(livePart, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            await Open().ListModelsAsync(new ModelQuery());
            Assert.Equal([livePart], Directory.EnumerateFileSystemEntries(Tmp));
        }
    }

}
