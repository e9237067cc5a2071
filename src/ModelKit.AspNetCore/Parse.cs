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

    /// <summary>
    /// A query value as a whole number; null when absent. ModelKit's endpoints take query numbers as text and parse them
    /// here, so that a value that is not a number (<c>page=abc</c>) is INVALID_INPUT in the surface's shape.
    /// </summary>
    public static int? Int(string? text, string name)
    {
        if (string.IsNullOrEmpty(text)) return null;
        if (int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)) return value;
        var shown = ClientText.Quote(text, 32);
        throw new InvalidInputException(long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) || text.TrimStart('-').All(char.IsAsciiDigit)
            ? $"'{name}' is out of range (was '{shown}')."
            : $"'{name}' must be a whole number (was '{shown}').");
    }

    /// <summary>A query value as a number; null when absent; INVALID_INPUT when it is not one.</summary>
    public static double? Double(string? text, string name)
    {
        if (string.IsNullOrEmpty(text)) return null;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidInputException($"'{name}' must be a number (was '{ClientText.Quote(text, 32)}').");
    }

    /// <summary>A query value as true or false (any case); null when absent.</summary>
    public static bool? Bool(string? text, string name)
    {
        if (string.IsNullOrEmpty(text)) return null;
        return bool.TryParse(text, out var value)
            ? value
            : throw new InvalidInputException($"'{name}' must be true or false (was '{ClientText.Quote(text, 32)}').");
    }

    public static TimeSpan? Timeout(double? seconds) => seconds switch
    {
        null => null,
        <= 0 or > 3600 or double.NaN => throw new InvalidInputException($"'timeout' must be between 0 and 3600 seconds (was {seconds.Value.ToString(CultureInfo.InvariantCulture)})."),
        _ => TimeSpan.FromSeconds(seconds.Value),
    };
}
