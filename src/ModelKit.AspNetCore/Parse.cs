using System.Globalization;
using ModelKit.Scheduling;

namespace ModelKit.AspNetCore;

internal static class Parse
{
    public static RequestPriority? Priority(string? text) => text?.ToUpperInvariant() switch
    {
        null => null,
        "HIGH" => RequestPriority.High,
        "NORMAL" => RequestPriority.Normal,
        "LOW" => RequestPriority.Low,
        _ => throw new InvalidInputException($"'priority' must be low, normal or high (was '{text}')."),
    };

    /// <summary>Seed 003's <c>engine</c>: ModelKit runs ONNX Runtime, so only that engine (or none) is accepted.</summary>
    public static void Engine(string? engine)
    {
        if (engine is null || engine.Equals("onnx", StringComparison.OrdinalIgnoreCase) || engine.Equals("onnxruntime", StringComparison.OrdinalIgnoreCase)) return;
        throw new InvalidInputException($"'engine' '{engine}' is not served here; ModelKit runs models with 'onnxruntime' (or leave 'engine' out).");
    }

    public static TimeSpan? Timeout(double? seconds) => seconds switch
    {
        null => null,
        <= 0 or > 3600 or double.NaN => throw new InvalidInputException($"'timeout' must be between 0 and 3600 seconds (was {seconds.Value.ToString(CultureInfo.InvariantCulture)})."),
        _ => TimeSpan.FromSeconds(seconds.Value),
    };
}
