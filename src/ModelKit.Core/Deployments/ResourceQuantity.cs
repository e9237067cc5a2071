using System.Globalization;

namespace ModelKit.Deployments;

/// <summary>
/// Kubernetes-style resource quantities as the seeds write them (<c>8Gi</c>, <c>512Mi</c>, <c>1G</c>, <c>1500000</c>),
/// and the device a resource request implies.
/// </summary>
public static class ResourceQuantity
{
    private static readonly (string Suffix, long Factor)[] Units =
    [
        ("Ki", 1L << 10), ("Mi", 1L << 20), ("Gi", 1L << 30), ("Ti", 1L << 40),
        ("K", 1000), ("k", 1000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
    ];

    /// <summary>
    /// The bytes a memory quantity stands for; null for null or blank text. INVALID_MODEL_CONFIG naming
    /// <paramref name="field"/> when the text is not a positive quantity below 2^63 bytes.
    /// </summary>
    public static long? ParseBytes(string? text, string field = "memory")
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var s = text.Trim();
        foreach (var (suffix, factor) in Units)
        {
            if (!s.EndsWith(suffix, StringComparison.Ordinal)) continue;
            if (double.TryParse(s[..^suffix.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n) && n > 0 && n * factor < long.MaxValue)
            {
                return Math.Max(1, (long)(n * factor));
            }

            break;
        }

        return long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes) && bytes > 0
            ? bytes
            : throw new InvalidModelConfigException($"'{field}' must be a quantity such as 512Mi or 8Gi (was '{ClientText.Quote(s, 32)}').");
    }

    /// <summary>
    /// The device a deployment asks for: an explicit <paramref name="device"/> wins; else one or more GPUs
    /// (<c>nvidia.com/gpu</c>, a whole number) ask for <c>cuda:0</c>; else null (the default device).
    /// </summary>
    public static string? Device(string? device, string? gpus) =>
        device ?? (int.TryParse(gpus, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0 ? "cuda:0" : null);
}
