using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.Tests.Registry;

/// <summary>
/// Nodes with data directories of their own over one metadata store: a node that lacks a version's file fetches it by
/// sha256 from a peer source (here another node's data directory, <see cref="DirectoryArtifactSource"/>), keeps it only
/// when size and hash match, tries the next copy when one does not, and serves the version from its own copy.
/// </summary>
public sealed class PeerArtifactTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly FakeBackend _backend = new();

    private string Node(string name) => _dir.Combine(name);

    // A registry over node `name`'s data directory and the shared metadata store (a SQLite file both nodes open).
    private ModelRegistry Open(string name, params IArtifactPeerSource[] sources) =>
        new(new SqliteModelMetadataStore(_dir.Combine("shared-registry.db")), Options.Create(new ModelKitOptions { DataDirectory = Node(name) }), [_backend],
            artifactSources: sources);

    private static MemoryStream Content(string text) => new(Encoding.UTF8.GetBytes(text));

    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private string BlobIn(string node, string sha) => Path.Combine(Node(node), "blobs", "sha256", sha[..2], sha);

    [Fact]
    public async Task MissingFile_IsFetchedFromAPeerByHash_AndServedFromTheNodesOwnCopy()
    {
        await Open("a").RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("triple: model"), "m.onnx");
        var b = Open("b", new DirectoryArtifactSource(Node("a")));
        var version = (await b.GetModelAsync("m")).Versions.Single();
        Assert.False(File.Exists(BlobIn("b", version.Sha256!)));

        await b.VerifyArtifactsAsync(version);

        Assert.Equal("triple: model", await File.ReadAllTextAsync(BlobIn("b", version.Sha256!)));
        Assert.Empty(Directory.GetFiles(Path.Combine(Node("b"), "tmp")));

        // The same through the inference service of a host over node b's directory.
        var services = new ServiceCollection().AddLogging().AddSingleton<IInferenceBackend>(_backend);
        services.AddSingleton<IModelMetadataStore>(new SqliteModelMetadataStore(_dir.Combine("shared-registry.db")));
        services.AddModelKit(o => o.DataDirectory = Node("c")).AddArtifactDirectory(Node("a"));
        await using var provider = services.BuildServiceProvider();
        var result = await provider.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = "m",
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(new float[] { 1, 2 }, 1, 2) },
        });
        Assert.Equal(new[] { 3f, 6f }, result.Outputs["y"].ToArray<float>());
        Assert.True(File.Exists(BlobIn("c", version.Sha256!)));
    }

    [Fact]
    public async Task PeerCopyWhoseHashDoesNotMatch_IsNotKept_TheNextCopyIs_AndWithNoGoodCopyTheVersionIsUnavailable()
    {
        await Open("a").RegisterAsync(new ModelDefinition { Id = "m", Name = "M" }, Content("model v1"), "m.onnx");
        var sha = Sha("model v1");
        Directory.CreateDirectory(Path.GetDirectoryName(BlobIn("bad", sha))!);
        await File.WriteAllTextAsync(BlobIn("bad", sha), "model v2"); // same size, other content
        Directory.CreateDirectory(Path.GetDirectoryName(BlobIn("long", sha))!);
        await File.WriteAllTextAsync(BlobIn("long", sha), "model v1 and more");

        // Only wrong copies: nothing is kept, and the version cannot be served (MODEL_UNAVAILABLE, no path in the message).
        var b = Open("b", new DirectoryArtifactSource(Node("bad")), new DirectoryArtifactSource(Node("long")));
        var version = (await b.GetModelAsync("m")).Versions.Single();
        var error = await Assert.ThrowsAsync<ModelUnavailableException>(() => b.VerifyArtifactsAsync(version));
        Assert.DoesNotContain(_dir.Path, error.Message, StringComparison.Ordinal);
        Assert.Contains("no other node or mirror has a good copy", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(BlobIn("b", sha)));
        Assert.Empty(Directory.GetFiles(Path.Combine(Node("b"), "tmp")));

        // A wrong copy first, then a good one: the good one is kept.
        var c = Open("c", new DirectoryArtifactSource(Node("bad")), new DirectoryArtifactSource(Node("a")));
        await c.VerifyArtifactsAsync(version);
        Assert.Equal("model v1", await File.ReadAllTextAsync(BlobIn("c", sha)));
    }

    public void Dispose() => _dir.Dispose();
}
