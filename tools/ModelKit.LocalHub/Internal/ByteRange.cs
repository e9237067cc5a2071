using System.Globalization;

namespace ModelKit.LocalHub.Internal;

/// <summary>One <c>Range: bytes=…</c> request against a file of a known length.</summary>
internal readonly record struct ByteRange(long Start, long End)
{
    public long Length => End - Start + 1;

    /// <summary>
    /// Reads <paramref name="header"/>: <c>bytes=a-b</c>, <c>bytes=a-</c> or <c>bytes=-n</c>. Returns null (serve the whole
    /// file, as RFC 9110 allows) for a header that is not one such range; <paramref name="unsatisfiable"/> is set when the
    /// range starts at or after the end of the file.
    /// </summary>
    public static ByteRange? Parse(string? header, long total, out bool unsatisfiable)
    {
        unsatisfiable = false;
        if (string.IsNullOrWhiteSpace(header)) return null;
        var value = header.Trim();
        if (!value.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase)) return null;
        var spec = value["bytes=".Length..].Trim();
        if (spec.Contains(',', StringComparison.Ordinal)) return null;
        var dash = spec.IndexOf('-', StringComparison.Ordinal);
        if (dash < 0) return null;
        var first = spec[..dash].Trim();
        var last = spec[(dash + 1)..].Trim();
        if (first.Length == 0)
        {
            // bytes=-n: the last n bytes.
            if (!TryNumber(last, out var suffix)) return null;
            if (suffix == 0 || total == 0)
            {
                unsatisfiable = true;
                return null;
            }

            return new ByteRange(Math.Max(0, total - suffix), total - 1);
        }

        if (!TryNumber(first, out var start)) return null;
        long end;
        if (last.Length == 0) end = total - 1;
        else if (!TryNumber(last, out end) || end < start) return null;
        if (start >= total)
        {
            unsatisfiable = true;
            return null;
        }

        return new ByteRange(start, Math.Min(end, total - 1));
    }

    private static bool TryNumber(string text, out long value) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);
}
