using Microsoft.Extensions.Options;
using ModelKit.Caching;
using ModelKit.Inference;
using ModelKit.Onnx;
using ModelKit.Registry;
using ModelKit.Serving;
using ModelKit.Tensors;
using Xunit.Abstractions;

namespace ModelKit.Tests;

/// <summary>The real PaddleOCR orientation classifier, registered and run through ModelKit.</summary>
public sealed class OcrClassifierTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task InferAsync_UprightAndRotatedTextLineInOneBatch_TellsThemApart()
    {
        var backend = new OnnxBackend(Options.Create(new OnnxRuntimeOptions()));
        var registry = new ModelRegistry(Options.Create(new ModelKitOptions { DataDirectory = _dir.Path }), [backend]);
        await registry.RegisterFileAsync(new ModelDefinition { Id = "ocr-cls", Name = "PaddleOCR text orientation", Task = "classification" }, TestModels.OcrClassifier);

        using var cache = new ModelCache(Options.Create(new ModelCacheOptions()), [backend]);
        await using var router = new ModelRouter(registry, cache, Options.Create(new InferenceOptions()));
        var service = new InferenceService(registry, router, Options.Create(new InferenceOptions()));

        var upright = TextLineRenderer.Render("happy dogs talk", 192, 48, 2);
        var rotated = TextLineRenderer.Rotate180(upright);
        var pixels = new float[2 * 3 * 48 * 192];
        Fill(pixels.AsSpan(0, 3 * 48 * 192), upright);
        Fill(pixels.AsSpan(3 * 48 * 192), rotated);

        var result = await service.InferAsync(new InferenceRequest
        {
            ModelId = "ocr-cls",
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(pixels, 2, 3, 48, 192) },
        });

        var probabilities = result.Outputs.Values.Single();
        Assert.Equal([2L, 2L], probabilities.Shape.ToArray());
        var p = probabilities.AsSpan<float>();
        output.WriteLine($"upright: p(0)={p[0]:F4} p(180)={p[1]:F4}; turned: p(0)={p[2]:F4} p(180)={p[3]:F4}");
        Assert.True(p[0] > p[1], $"upright line: p(0°)={p[0]:F3}, p(180°)={p[1]:F3}");
        Assert.True(p[3] > p[2], $"turned line: p(0°)={p[2]:F3}, p(180°)={p[3]:F3}");
    }

    // PaddleOCR's classifier input: three identical channels, (v/255 - 0.5) / 0.5, CHW.
    private static void Fill(Span<float> destination, byte[] grey)
    {
        var plane = grey.Length;
        for (var c = 0; c < 3; c++)
        {
            for (var i = 0; i < plane; i++) destination[(c * plane) + i] = ((grey[i] / 255f) - 0.5f) / 0.5f;
        }
    }

    public void Dispose() => _dir.Dispose();
}
