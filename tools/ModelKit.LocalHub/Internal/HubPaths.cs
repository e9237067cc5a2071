namespace ModelKit.LocalHub.Internal;

/// <summary>
/// Request paths: split from the raw request target (before any normalisation, so <c>..</c> and <c>%2F</c> arrive as
/// sent) and checked before a file is looked up. Files are found only among the names a repository lists, so no part of
/// a request path ever reaches the file system.
/// </summary>
internal static class HubPaths
{
    /// <summary>The decoded segments of <paramref name="rawTarget"/>'s path (query removed; a trailing '/' dropped).</summary>
    public static string[] Segments(string rawTarget)
    {
        var path = rawTarget;
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0) path = path[..query];
        if (path.StartsWith('/')) path = path[1..];
        if (path.EndsWith('/')) path = path[..^1];
        if (path.Length == 0) return [];
        var segments = path.Split('/');
        for (var i = 0; i < segments.Length; i++) segments[i] = Uri.UnescapeDataString(segments[i]);
        return segments;
    }

    /// <summary>Whether <paramref name="segment"/> can be an owner or a repository name (letters, digits, '-', '_', '.'; not starting with '.').</summary>
    public static bool IsRepoSegment(string segment) =>
        segment.Length is > 0 and <= 96 && segment[0] != '.' && segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>
    /// Joins <paramref name="segments"/> into a repository path; false when any part (after decoding, '/' included) is
    /// empty, <c>.</c> or <c>..</c>, or holds a backslash or a control character: such a path names no file.
    /// </summary>
    public static bool TryFilePath(ReadOnlySpan<string> segments, out string path)
    {
        path = string.Join('/', segments.ToArray());
        if (path.Length == 0) return false;
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part is "." or "..") return false;
            foreach (var c in part)
            {
                if (c == '\\' || char.IsControl(c)) return false;
            }
        }

        return true;
    }
}
