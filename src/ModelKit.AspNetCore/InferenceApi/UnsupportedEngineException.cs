namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>
/// Seed 003's <c>engine</c> names an engine ModelKit does not run (the seed's examples use <c>ollama</c>): INVALID_INPUT,
/// written with the type <c>UnsupportedEngineError</c> and the engines that are served.
/// </summary>
internal sealed class UnsupportedEngineException(string engine)
    : ModelKitException(ModelKitErrorCodes.InvalidInput,
        $"'engine' '{ClientText.Quote(engine, 64)}' is not served here; ModelKit runs models with 'onnxruntime' (also 'onnx', or leave 'engine' out).")
{
    /// <summary>The engine names that select ONNX Runtime.</summary>
    public static readonly string[] Served = ["onnxruntime", "onnx"];

    /// <summary>The engine as given (bounded).</summary>
    public string Engine { get; } = ClientText.Quote(engine, 64);

    /// <summary>Accepts a missing engine and ONNX Runtime's names (any case); throws for any other.</summary>
    public static void Check(string? engine)
    {
        if (engine is null || IsServed(engine)) return;
        throw new UnsupportedEngineException(engine);
    }

    /// <summary>True for <c>onnxruntime</c> and <c>onnx</c> (any case).</summary>
    public static bool IsServed(string engine) =>
        engine.Equals("onnxruntime", StringComparison.OrdinalIgnoreCase) || engine.Equals("onnx", StringComparison.OrdinalIgnoreCase);
}
