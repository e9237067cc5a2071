using System.Text;
using System.Text.RegularExpressions;

namespace ModelKit.Registry;

/// <summary>The rules for model ids and version labels. Neither is ever used as a file path segment.</summary>
internal static partial class ModelIdentifiers
{
    public const string IdRule =
        "1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit, optionally as 'org/name' with each part so";

    public const string VersionRule = "1-128 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\z")] // \z, not $: "$" also matches before a final newline
    private static partial Regex Part();

    /// <summary>A plain id (<c>resnet50</c>) or one in the Hugging Face form <c>org/name</c>: exactly one '/', each part a plain id.</summary>
    public static bool IsValidModelId(string? id)
    {
        if (string.IsNullOrEmpty(id)) return false;
        var slash = id.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0) return Part().IsMatch(id);
        return Part().IsMatch(id.AsSpan(0, slash)) && Part().IsMatch(id.AsSpan(slash + 1));
    }

    public static bool IsValidVersion(string? version) => !string.IsNullOrEmpty(version) && Part().IsMatch(version);

    /// <summary>An id derived from a display name: lower case, runs of other characters become one '-'.</summary>
    public static string Slugify(string name)
    {
        var sb = new StringBuilder();
        foreach (var c in name.Trim().ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-') sb.Append(c);
            else if (sb.Length > 0 && sb[^1] != '-') sb.Append('-');
        }

        return sb.ToString().Trim('-', '.', '_');
    }
}
