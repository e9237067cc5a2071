using ModelKit.Registry;

namespace ModelKit.Tests.Registry;

// The metadata store's contract, driven through IModelMetadataStore itself: on the embedded SQLite store here, and on
// PostgreSQL in PostgresModelMetadataStoreContractTests.
public class ModelMetadataStoreContractTests : RegistryTestBase
{
    private static ModelInfo Model(string id) => new() { Id = id, Name = id, Framework = "onnx", CreatedAt = DateTimeOffset.UnixEpoch, UpdatedAt = DateTimeOffset.UnixEpoch };

    [Fact]
    public async Task Reservations_AreDecidedByTheirUploadToken()
    {
        var store = await OpenStoreAsync();
        var now = DateTimeOffset.UnixEpoch;
        Assert.True(await store.TryCreateModelAsync(new ModelInfo { Id = "m", Name = "M", Framework = "onnx", CreatedAt = now, UpdatedAt = now }));
        Assert.Null(await store.TryReserveVersionAsync("ghost", null, "t0", now));

        Assert.Equal("1", await store.TryReserveVersionAsync("m", "1", "a", now));
        Assert.Null(await store.TryReserveVersionAsync("m", "1", "b", now)); // uploading: taken
        Assert.Equal("2", await store.TryReserveVersionAsync("m", null, "c", now));
        Assert.Equal(new[] { new PendingUpload("m", "1", "a"), new PendingUpload("m", "2", "c") }, await store.ListUploadsAsync());

        // Recovery failed upload "a" while its process was (wrongly) still going: that process can no longer commit.
        Assert.False(await store.FailVersionAsync("m", "1", "other", "no"));
        Assert.True(await store.FailVersionAsync("m", "1", "a", "interrupted"));
        var called = false;
        var commit = new ModelVersionCommit { ModelId = "m", Version = "1", UploadToken = "a", Files = [new ModelArtifactFile { Name = "m.onnx", Sha256 = "ab", SizeBytes = 1 }] };
        Assert.False(await store.CompleteVersionAsync(commit, _ => { called = true; return Task.CompletedTask; }));
        Assert.False(called);

        // A failed version is replaced by the next upload of its label, which then commits.
        Assert.Equal("1", await store.TryReserveVersionAsync("m", "1", "d", now));
        Assert.False(await store.ReleaseVersionAsync("m", "1", "a"));
        Assert.True(await store.CompleteVersionAsync(commit with { UploadToken = "d" }, _ => { called = true; return Task.CompletedTask; }));
        Assert.True(called);
        var model = (await store.FindModelAsync("m"))!;
        Assert.Equal(("1", ModelVersionStatus.Ready, (string?)null), (model.DefaultVersion, model.Versions[0].Status, model.Versions[0].Error));
        Assert.Equal(string.Empty, model.Versions[0].Files[0].Path); // paths are the artifact store's business

        // A commit whose content step fails commits nothing.
        await Assert.ThrowsAsync<IOException>(() => store.CompleteVersionAsync(
            commit with { Version = "2", UploadToken = "c" }, _ => throw new IOException("disk full")));
        Assert.Equal(ModelVersionStatus.Uploading, (await store.FindModelAsync("m"))!.Versions[1].Status);
        Assert.True(await store.ReleaseVersionAsync("m", "2", "c"));
        Assert.Empty(await store.ListUploadsAsync());
    }

    [Fact]
    public async Task TryReserveVersion_NumberedAfterAHandLabelTakingTheNextNumber_NumbersPastIt()
    {
        // "2" labelled by hand is the model's first version (seq 1), so the next number, 2, is taken: numbering goes past it.
        var store = await OpenStoreAsync();
        Assert.True(await store.TryCreateModelAsync(Model("labels")));
        Assert.Equal("2", await store.TryReserveVersionAsync("labels", "2", "t-hand", DateTimeOffset.UtcNow));
        Assert.Equal("3", await store.TryReserveVersionAsync("labels", null, "t-auto", DateTimeOffset.UtcNow));
        Assert.Equal(["2", "3"], (await store.FindModelAsync("labels"))!.Versions.Select(v => v.Version));
    }

    [Fact]
    public async Task TryReserveVersion_NumberedAfterLabelsOfEveryKind_TakesTheFirstNumberAboveThem()
    {
        // "v1" (seq 1) and "3" (seq 2) by hand: the next sequence number, 3, is taken, and so is nothing above 3.
        var store = await OpenStoreAsync();
        Assert.True(await store.TryCreateModelAsync(Model("mixed")));
        Assert.Equal("v1", await store.TryReserveVersionAsync("mixed", "v1", "t1", DateTimeOffset.UtcNow));
        Assert.Equal("3", await store.TryReserveVersionAsync("mixed", "3", "t2", DateTimeOffset.UtcNow));
        Assert.Equal("4", await store.TryReserveVersionAsync("mixed", null, "t3", DateTimeOffset.UtcNow));
        Assert.Equal("5", await store.TryReserveVersionAsync("mixed", null, "t4", DateTimeOffset.UtcNow));
        Assert.Equal(["v1", "3", "4", "5"], (await store.FindModelAsync("mixed"))!.Versions.Select(v => v.Version));
    }
}
