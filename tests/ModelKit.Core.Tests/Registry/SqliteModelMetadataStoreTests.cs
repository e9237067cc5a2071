using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests.Registry;

/// <summary>The embedded metadata store: its migrations from earlier layouts and the conditions that decide races.</summary>
public sealed class SqliteModelMetadataStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();

    private ModelRegistry Open() => new(Options.Create(new ModelKitOptions { DataDirectory = _dir.Path }), [_backend]);

    private string Database => _dir.Combine("registry.db");

    private long UserVersion()
    {
        using var connection = new SqliteConnection($"Data Source={Database};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA user_version";
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task Start_DataDirectoryOfTheFirstRelease_IsMigrated_AndEveryVersionStaysUsable()
    {
        var legacy = new LegacyRegistryLayout(_dir.Path);
        legacy.AddModel("resnet", "ResNet", defaultVersion: "2");
        var blob1 = legacy.AddReadyVersion("resnet", "1", 1, "resnet.onnx", Encoding.UTF8.GetBytes("model v1"));
        var blob2 = legacy.AddReadyVersion("resnet", "2", 2, "resnet.onnx", Encoding.UTF8.GetBytes("triple: model v2"));
        var part = legacy.AddInterruptedUpload("resnet", "3", 3);

        var registry = Open();
        var model = await registry.GetModelAsync("resnet");

        Assert.Equal(1, UserVersion());
        Assert.Equal(("2", ModelVersionStatus.Ready), (model.DefaultVersion, model.Status));
        Assert.Equal(["1", "2", "3"], model.Versions.Select(v => v.Version));
        Assert.Equal([blob1, blob2], model.Versions.Take(2).Select(v => Assert.Single(v.Files).Path));
        Assert.Equal("resnet.onnx", model.Versions[0].Files[0].Name);
        var interrupted = model.Versions[2];
        Assert.Equal((ModelVersionStatus.Failed, UploadRecovery.InterruptedReason), (interrupted.Status, interrupted.Error));
        Assert.False(File.Exists(part));

        // Both old versions verify, load and infer from their old blobs.
        foreach (var version in model.Versions.Take(2)) await registry.VerifyArtifactsAsync(version);
        var services = new ServiceCollection().AddLogging().AddSingleton<IInferenceBackend>(_backend);
        services.AddModelKit(o => o.DataDirectory = _dir.Path);
        await using var provider = services.BuildServiceProvider();
        var inference = provider.GetRequiredService<IInferenceService>();
        var x = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new float[] { 1, 2 }, 1, 2) };
        var fromDefault = await inference.InferAsync(new InferenceRequest { ModelId = "resnet", Inputs = x });
        var fromFirst = await inference.InferAsync(new InferenceRequest { ModelId = "resnet", Version = "1", Inputs = x });
        Assert.Equal(new[] { 3f, 6f }, fromDefault.Outputs["y"].ToArray<float>());
        Assert.Equal(new[] { 2f, 4f }, fromFirst.Outputs["y"].ToArray<float>());

        // The interrupted version can be uploaded again, and a second start changes nothing.
        Assert.Equal(ModelVersionStatus.Ready, (await registry.AddVersionAsync("resnet", "3", new MemoryStream(Encoding.UTF8.GetBytes("model v3")), "resnet.onnx")).Status);
        var reopened = await Open().GetModelAsync("resnet");
        Assert.All(reopened.Versions, v => Assert.Equal(ModelVersionStatus.Ready, v.Status));
        Assert.Equal(1, UserVersion());
    }

    [Fact]
    public async Task Start_SchemaOfANewerRelease_IsRefusedWithAClearMessage()
    {
        await Open().ListModelsAsync(new ModelQuery());
        using (var connection = new SqliteConnection($"Data Source={Database};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA user_version = 99";
            command.ExecuteNonQuery();
        }

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Open().ListModelsAsync(new ModelQuery()));
        Assert.Contains("newer ModelKit (schema 99)", error.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
