using ModelKit.ModelGenerator;
using ModelKit.Registry;

namespace ModelKit.Tests.Text;

/// <summary>The real all-MiniLM-L6-v2, extracted once per machine from its NuGet package, and registered as one model of several files.</summary>
internal static class MiniLm
{
    public const string Id = "all-MiniLM-L6-v2";

    /// <summary>The folder holding model.onnx, vocab.txt and the sentence-transformers configuration.</summary>
    public static string Directory => PretrainedModels.MiniLmDirectory;

    public static Task<ModelInfo> RegisterAsync(IModelRegistry registry, string id = Id) =>
        PretrainedModels.RegisterMiniLmAsync(registry, new ModelDefinition { Id = id, Name = "all-MiniLM-L6-v2", Task = "feature-extraction" });

    public static float Cosine(float[] a, float[] b) => System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);
}
