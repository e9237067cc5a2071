using System.Text;
using ModelKit.Registry;

namespace ModelKit.Tests.Registry;

// The registry's contract on the embedded SQLite store; PostgresModelRegistryTests runs the same tests on PostgreSQL.
public class ModelRegistryTests : RegistryTestBase
{
    private ModelRegistry CreateRegistry(params IModelUsageGuard[] guards) => OpenRegistry(guards);

    private static MemoryStream Content(string text) => new(Encoding.UTF8.GetBytes(text));

    private string[] StoredFiles() => Directory.GetFiles(Dir.Path, "*", SearchOption.AllDirectories)
        .Where(f => !f.EndsWith(".db", StringComparison.Ordinal) && !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal) && Path.GetFileName(f) != "data-directory-id")
        .ToArray();

    [Fact]
    public async Task RegisterAsync_FromStream_StoresContentAddressedAndReady()
    {
        var registry = CreateRegistry();
        var model = await registry.RegisterAsync(new ModelDefinition { Id = "m1", Name = "Model One", Task = "classification", Tags = ["a", "b"] }, Content("model-bytes"), "model.onnx");

        Assert.Equal("1", model.DefaultVersion);
        Assert.Equal(ModelVersionStatus.Ready, model.Status);
        var version = Assert.Single(model.Versions);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes("model-bytes"))), version.Sha256);
        Assert.Equal(11, version.SizeBytes);
        var file = Assert.Single(version.Files);
        Assert.Equal("model.onnx", file.Name);
        Assert.Equal(version.Sha256, Path.GetFileName(file.Path));
        Assert.Equal("model-bytes", await File.ReadAllTextAsync(file.Path));
        Assert.Equal(["x float32[?,2]"], version.Signature!.Inputs.Select(i => $"{i.Name} {i.Describe()}"));
        Assert.Equal(["y float32[?,2]"], version.Signature.Outputs.Select(i => $"{i.Name} {i.Describe()}"));
        Assert.Equal(["a", "b"], model.Tags);
    }

    [Fact]
    public async Task AddVersionAsync_TwoVersions_NumbersThemAndKeepsFirstAsDefault()
    {
        var registry = CreateRegistry();
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("v1"), "m.onnx");
        var v2 = await registry.AddVersionAsync("m", null, Content("v2"), "m.onnx");
        Assert.Equal("2", v2.Version);
        var model = await registry.GetModelAsync("m");
        Assert.Equal(["1", "2"], model.Versions.Select(v => v.Version));
        Assert.Equal("1", model.DefaultVersion);
        model = await registry.UpdateModelAsync("m", new ModelUpdate { DefaultVersion = "2" });
        Assert.Equal("2", model.DefaultVersion);
    }

    [Fact]
    public async Task GetStatisticsAsync_CountsModelsVersionsBytesAndGroups()
    {
        var registry = CreateRegistry();
        await registry.RegisterAsync(new ModelDefinition { Id = "a", Name = "A", Task = "classification" }, Content("12345"), "a.onnx");
        await registry.AddVersionAsync("a", null, Content("123"), "a.onnx");
        await registry.UpdateModelAsync("a", new ModelUpdate { Favorite = true });
        await registry.RegisterAsync(new ModelDefinition { Id = "b", Name = "B", Task = "classification" }, Content("1234567"), "b.onnx");
        await registry.RegisterAsync(new ModelDefinition { Id = "c", Name = "C" }, Content("12"), "c.onnx");
        await registry.CreateModelAsync(new ModelDefinition { Id = "d", Name = "D (no version yet)", Task = "detection", Framework = "pytorch" });

        Assert.Equal(["a", "b", "c", "d"], (await registry.ListAllModelsAsync()).Select(m => m.Id).Order(StringComparer.Ordinal));
        var stats = await registry.GetStatisticsAsync();
        Assert.Equal((4, 4, 5 + 3 + 7 + 2L, 1), (stats.Models, stats.Versions, stats.TotalBytes, stats.Favorites));
        Assert.Equal(2, stats.ByStatus.Count);
        Assert.Equal((3, 1), (stats.ByStatus[ModelVersionStatus.Ready], stats.ByStatus[ModelVersionStatus.Uploading]));
        Assert.Equal([KeyValuePair.Create("onnx", 3), KeyValuePair.Create("pytorch", 1)], stats.ByFramework);
        Assert.Equal([KeyValuePair.Create("classification", 2), KeyValuePair.Create("detection", 1), KeyValuePair.Create(ModelRegistryStatistics.NoTask, 1)], stats.ByTask);
    }

    [Fact]
    public async Task CreateModelAsync_Duplicate_ThrowsModelAlreadyExists()
    {
        var registry = CreateRegistry();
        await registry.CreateModelAsync(new ModelDefinition { Id = "dup", Name = "Dup" });
        var error = await Assert.ThrowsAsync<ModelAlreadyExistsException>(() => registry.CreateModelAsync(new ModelDefinition { Id = "dup", Name = "Other" }));
        Assert.Equal(ModelKitErrorCodes.ModelAlreadyExists, error.ErrorCode);
        Assert.Contains("dup", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddVersionAsync_DuplicateVersion_ThrowsModelAlreadyExists()
    {
        var registry = CreateRegistry();
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("v1"), "m.onnx", version: "2024");
        await Assert.ThrowsAsync<ModelAlreadyExistsException>(() => registry.AddVersionAsync("m", "2024", Content("again"), "m.onnx"));
        Assert.Single((await registry.GetModelAsync("m")).Versions);
    }

    [Fact]
    public async Task RegisterAsync_CorruptArtifact_RegistersNothingAndLeavesNoFiles()
    {
        var registry = CreateRegistry();
        var error = await Assert.ThrowsAsync<InvalidModelConfigException>(() =>
            registry.RegisterAsync(new ModelDefinition { Id = "broken", Name = "Broken" }, Content("bad bytes"), "broken.onnx"));
        Assert.Equal(ModelKitErrorCodes.InvalidModelConfig, error.ErrorCode);
        Assert.Null(await registry.FindModelAsync("broken"));
        Assert.Empty(StoredFiles());
        Assert.Equal(0, (await registry.ListModelsAsync(new ModelQuery())).Total);
    }

    [Fact]
    public async Task AddVersionAsync_CorruptArtifact_KeepsTheModelAndItsOtherVersions()
    {
        var registry = CreateRegistry();
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("good"), "m.onnx");
        await Assert.ThrowsAsync<InvalidModelConfigException>(() => registry.AddVersionAsync("m", null, Content("bad"), "m.onnx"));
        var model = await registry.GetModelAsync("m");
        Assert.Equal(["1"], model.Versions.Select(v => v.Version));
        Assert.Single(StoredFiles());
    }

    [Theory]
    [InlineData("../evil.onnx")]
    [InlineData("dir/model.onnx")]
    [InlineData("..")]
    [InlineData("")]
    public async Task AddVersionAsync_UnsafeFileName_IsRejected(string fileName)
    {
        var registry = CreateRegistry();
        await registry.CreateModelAsync(new ModelDefinition { Id = "m", Name = "M" });
        var error = await Assert.ThrowsAsync<InvalidModelConfigException>(() => registry.AddVersionAsync("m", null, Content("x"), fileName));
        Assert.Contains("file name", error.Message, StringComparison.Ordinal);
        Assert.Empty(StoredFiles());
    }

    [Fact]
    public async Task ListModelsAsync_FiltersAndPages()
    {
        var registry = CreateRegistry();
        await registry.RegisterAsync(new ModelDefinition { Id = "resnet", Name = "ResNet", Task = "classification" }, Content("1"), "a.onnx");
        await registry.RegisterAsync(new ModelDefinition { Id = "bert", Name = "BERT base", Task = "embedding", Description = "text encoder" }, Content("2"), "b.onnx");
        await registry.RegisterAsync(new ModelDefinition { Id = "yolo", Name = "YOLO", Task = "classification", Framework = "pytorch" }, Content("3"), "c.pt");
        await registry.CreateModelAsync(new ModelDefinition { Id = "empty", Name = "Empty" });

        Assert.Equal(["resnet", "yolo"], (await registry.ListModelsAsync(new ModelQuery { Task = "classification" })).Items.Select(m => m.Id));
        Assert.Equal(["yolo"], (await registry.ListModelsAsync(new ModelQuery { Framework = "pytorch" })).Items.Select(m => m.Id));
        Assert.Equal(["bert"], (await registry.ListModelsAsync(new ModelQuery { Text = "ENCODER" })).Items.Select(m => m.Id));
        Assert.Equal(["empty"], (await registry.ListModelsAsync(new ModelQuery { Status = ModelVersionStatus.Uploading })).Items.Select(m => m.Id));
        Assert.Equal(3, (await registry.ListModelsAsync(new ModelQuery { Status = ModelVersionStatus.Ready })).Total);
        var page = await registry.ListModelsAsync(new ModelQuery { Offset = 1, Limit = 2 });
        Assert.Equal(4, page.Total);
        Assert.Equal(["bert", "yolo"], page.Items.Select(m => m.Id));
        await Assert.ThrowsAsync<InvalidInputException>(() => registry.ListModelsAsync(new ModelQuery { Limit = 0 }));
    }

    [Fact]
    public async Task UpdateModelAsync_ChangesOnlyGivenFields()
    {
        var registry = CreateRegistry();
        await registry.CreateModelAsync(new ModelDefinition { Id = "m", Name = "M", Description = "old", Task = "t" });
        var updated = await registry.UpdateModelAsync("m", new ModelUpdate { Description = "new", Favorite = true, Metadata = new Dictionary<string, string> { ["owner"] = "team" } });
        Assert.Equal("new", updated.Description);
        Assert.Equal("M", updated.Name);
        Assert.Equal("t", updated.Task);
        Assert.True(updated.Favorite);
        Assert.Equal("team", updated.Metadata["owner"]);
        await Assert.ThrowsAsync<InvalidModelConfigException>(() => registry.UpdateModelAsync("m", new ModelUpdate { DefaultVersion = "9" }));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => registry.UpdateModelAsync("nope", new ModelUpdate { Name = "x" }));
    }

    [Fact]
    public async Task DeleteModelAsync_InUse_IsRefusedUnlessForced()
    {
        var guard = new Guard { InUse = "deployment d1 is running" };
        var registry = CreateRegistry(guard);
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("bytes"), "m.onnx");
        var error = await Assert.ThrowsAsync<ModelKitConflictException>(() => registry.DeleteModelAsync("m"));
        Assert.Contains("deployment d1", error.Message, StringComparison.Ordinal);
        Assert.NotNull(await registry.FindModelAsync("m"));

        await registry.DeleteModelAsync("m", force: true);
        Assert.Null(await registry.FindModelAsync("m"));
        Assert.Empty(StoredFiles());
    }

    [Fact]
    public async Task DeleteVersionAsync_SharedContent_KeepsTheBlobForTheOtherVersion()
    {
        var registry = CreateRegistry();
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("same"), "m.onnx");
        await registry.AddVersionAsync("m", null, Content("same"), "m.onnx");
        Assert.Single(StoredFiles());
        await registry.DeleteVersionAsync("m", "1");
        var model = await registry.GetModelAsync("m");
        Assert.Equal("2", model.DefaultVersion);
        Assert.True(File.Exists(model.Versions[0].Files[0].Path));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => registry.DeleteVersionAsync("m", "1"));
    }

    [Fact]
    public async Task DeleteVersionAsync_DefaultVersion_MovesTheDefaultToTheNewestRemainingReadyVersion()
    {
        var registry = CreateRegistry();
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("v1"), "m.onnx");
        await registry.AddVersionAsync("m", null, Content("v2"), "m.onnx");
        await registry.AddVersionAsync("m", null, Content("v3"), "m.onnx");
        await registry.UpdateModelAsync("m", new ModelUpdate { DefaultVersion = "2" });
        var changes = new List<ModelRegistryChange>();
        registry.Changed += (_, change) => changes.Add(change);

        await registry.DeleteVersionAsync("m", "2");
        Assert.Equal("3", (await registry.GetModelAsync("m")).DefaultVersion);
        await registry.DeleteVersionAsync("m", "3");
        Assert.Equal("1", (await registry.GetModelAsync("m")).DefaultVersion);
        await registry.DeleteVersionAsync("m", "1");
        var model = await registry.GetModelAsync("m");
        Assert.Equal((null, ModelVersionStatus.Uploading), (model.DefaultVersion, model.Status));
        Assert.Equal(["2", "3", "1"], changes.Select(c => c.Version));
        Assert.All(changes, c => Assert.Equal(ModelRegistryChangeKind.VersionDeleted, c.Kind));
        Assert.Empty(StoredFiles());
    }

    [Fact]
    public async Task DeleteVersionAsync_InUse_IsRefusedUnlessForced_AndTheGuardHearsOfTheForcedDelete()
    {
        var guard = new Guard();
        var registry = CreateRegistry(guard);
        await registry.RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("v1"), "m.onnx");
        await registry.AddVersionAsync("m", null, Content("v2"), "m.onnx");
        guard.InUse = "deployment d1 serves version 2";

        var error = await Assert.ThrowsAsync<ModelKitConflictException>(() => registry.DeleteVersionAsync("m", "2"));
        Assert.Equal(ModelKitErrorCodes.Conflict, error.ErrorCode);
        Assert.Contains("deployment d1", error.Message, StringComparison.Ordinal);
        Assert.Equal(["1", "2"], (await registry.GetModelAsync("m")).Versions.Select(v => v.Version));

        await registry.DeleteVersionAsync("m", "2", force: true);
        Assert.Equal(["1"], (await registry.GetModelAsync("m")).Versions.Select(v => v.Version));
        Assert.Equal([("m", (string?)"2")], guard.ForcedDeletes);
        Assert.Single(StoredFiles());
    }

    [Fact]
    public async Task SecondInstance_OverSameDirectory_SeesTheSameRegistry()
    {
        var first = CreateRegistry();
        await first.RegisterAsync(new ModelDefinition { Id = "shared", Name = "Shared" }, Content("bytes"), "s.onnx");
        var second = CreateRegistry();
        var model = await second.GetModelAsync("shared");
        Assert.Equal("Shared", model.Name);
        await second.UpdateModelAsync("shared", new ModelUpdate { Description = "from the second" });
        Assert.Equal("from the second", (await first.GetModelAsync("shared")).Description);
    }

    [Fact]
    public async Task RegisterFileAsync_CopiesTheFileIntoTheStore_AndAMissingFileIsAClearError()
    {
        var registry = CreateRegistry();
        var source = Path.Combine(Dir.Path, "outside", "classifier.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(source)!);
        await File.WriteAllTextAsync(source, "model from disk");

        var model = await registry.RegisterFileAsync(new ModelDefinition { Id = "disk", Name = "From disk" }, source);
        var file = model.Versions[0].Files[0];
        Assert.Equal("classifier.onnx", file.Name);
        Assert.NotEqual(source, file.Path);
        Assert.Equal("model from disk", await File.ReadAllTextAsync(file.Path));
        Assert.True(File.Exists(source));
        var v2 = await registry.AddVersionFileAsync("disk", source, "2024-06");
        Assert.Equal("2024-06", v2.Version);

        var missing = await Assert.ThrowsAsync<InvalidModelConfigException>(() => registry.RegisterFileAsync(new ModelDefinition { Id = "nope", Name = "Nope" }, source + ".missing"));
        Assert.Contains("cannot be read", missing.Message, StringComparison.Ordinal);
        Assert.Contains("'classifier.onnx.missing'", missing.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Dir.Path, missing.Message, StringComparison.Ordinal);
        Assert.Null(await registry.FindModelAsync("nope"));
    }

    [Fact]
    public async Task GetModelAsync_Unknown_ThrowsModelNotFound()
    {
        var registry = CreateRegistry();
        var error = await Assert.ThrowsAsync<ModelNotFoundException>(() => registry.GetModelAsync("ghost"));
        Assert.Equal(ModelKitErrorCodes.ModelNotFound, error.ErrorCode);
    }

    private sealed class Guard : IModelUsageGuard
    {
        public string? InUse { get; set; }

        public List<(string ModelId, string? Version)> ForcedDeletes { get; } = [];

        public string? GetUsage(string modelId, string? version) => InUse;

        public void OnForcedDelete(string modelId, string? version) => ForcedDeletes.Add((modelId, version));
    }

}
