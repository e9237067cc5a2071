using System.Text;
using System.Text.RegularExpressions;
using ModelKit.Registry;

namespace ModelKit.Downloads;

/// <summary>
/// Which of a model's files a download takes. With allow patterns: the files they match (less the ignored ones).
/// Without: what the ONNX backend needs — one ONNX model (<c>model.onnx</c> at the top, else <c>onnx/model.onnx</c>,
/// else the only ONNX file), the external data beside it, and the tokenizer and configuration files.
/// Patterns follow the hub clients' (Python <c>fnmatch</c>): <c>*</c> matches across folders, <c>?</c> one character,
/// <c>[abc]</c> a set; a pattern ending in '/' matches everything under that folder.
/// </summary>
internal static class FileSelection
{
    // The files beside a model that tokenizers and encoders read (ModelKit.Onnx looks for them at the top of the version
    // or in a subfolder); configuration that describes the model.
    private static readonly HashSet<string> CompanionNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model", "spiece.model",
        "sentencepiece.bpe.model", "preprocessor_config.json", "sentence_bert_config.json", "modules.json",
        "config_sentence_transformers.json",
    };

    /// <summary>The chosen files (in <paramref name="names"/>' order) and the primary one.</summary>
    public static (List<string> Files, string Primary) Select(IReadOnlyList<string> names, IReadOnlyList<string> allow, IReadOnlyList<string> ignore)
    {
        var allowed = allow.Count == 0 ? null : allow.Select(p => Compile(p, "allow_patterns")).ToList();
        var ignored = ignore.Select(p => Compile(p, "ignore_patterns")).ToList();
        var candidates = new List<string>();
        foreach (var name in names)
        {
            if (!ArtifactNames.IsAllowed(name)) continue; // a hostile or unusable name is never written
            if (allowed is not null && !allowed.Exists(p => p.IsMatch(name))) continue;
            if (ignored.Exists(p => p.IsMatch(name))) continue;
            candidates.Add(name);
        }

        var primary = ChoosePrimary(candidates)
            ?? throw new InvalidInputException(allowed is null
                ? $"The model has no ONNX file to serve ({Describe(candidates)}); ModelKit serves ONNX models — pick a repository with an ONNX export, or name files with allow patterns."
                : $"No ONNX file matches the allow patterns ({Describe(candidates)}); include one '.onnx' file.");
        if (allowed is not null) return (candidates, primary);

        var folder = FolderOf(primary);
        var stem = primary[(folder.Length)..];
        var chosen = new List<string>();
        foreach (var name in candidates)
        {
            var nameFolder = FolderOf(name);
            var leaf = name[nameFolder.Length..];
            var isExternalData = nameFolder == folder && name != primary && !leaf.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)
                && (leaf.StartsWith(stem, StringComparison.OrdinalIgnoreCase) || leaf.StartsWith(stem[..^5] + ".data", StringComparison.OrdinalIgnoreCase));
            var isCompanion = (nameFolder.Length == 0 || nameFolder == folder) && CompanionNames.Contains(leaf);
            var isPooling = nameFolder.EndsWith("_Pooling/", StringComparison.Ordinal) && nameFolder.Count(c => c == '/') == 1 && leaf == "config.json";
            if (name == primary || isExternalData || isCompanion || isPooling) chosen.Add(name);
        }

        return (chosen, primary);
    }

    /// <summary>The ONNX file a backend would load: <c>model.onnx</c> at the top, else <c>onnx/model.onnx</c>, else the only ONNX file.</summary>
    public static string? ChoosePrimary(IReadOnlyList<string> names)
    {
        var onnx = names.Where(n => n.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)).ToList();
        if (onnx.Count == 0) return null;
        foreach (var preferred in (string[])["model.onnx", "onnx/model.onnx", "decoder_model_merged.onnx", "onnx/decoder_model_merged.onnx"])
        {
            if (onnx.Find(n => string.Equals(n, preferred, StringComparison.OrdinalIgnoreCase)) is { } found) return found;
        }

        if (onnx.Count == 1) return onnx[0];
        throw new InvalidInputException(
            $"The model has {onnx.Count} ONNX files and none is 'model.onnx' ({Describe(onnx)}); choose one with allow patterns (for example 'allow_patterns': ['{Printable(onnx[0])}'] and the files it needs).");
    }

    /// <summary>Whether <paramref name="name"/> matches the fnmatch-style <paramref name="pattern"/>.</summary>
    public static bool Matches(string pattern, string name) => Compile(pattern, "patterns").IsMatch(name);

    /// <summary>Checks every pattern (INVALID_INPUT naming the first bad one), before anything is downloaded.</summary>
    public static void Validate(IReadOnlyList<string> patterns, string field)
    {
        if (patterns.Count > 64) throw new InvalidInputException($"'{field}' holds at most 64 patterns (got {patterns.Count}).");
        foreach (var pattern in patterns) Compile(pattern, field);
    }

    private static Regex Compile(string pattern, string field)
    {
        if (string.IsNullOrWhiteSpace(pattern) || pattern.Length > 256 || pattern.Any(char.IsControl))
        {
            throw new InvalidInputException($"Each of '{field}' must be a pattern of 1-256 printable characters.");
        }

        if (pattern.EndsWith('/')) pattern += "*";
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                // Runs of '*' are one '*' (the same set of names), so that a pattern cannot make matching slow.
                case '*' when i > 0 && pattern[i - 1] == '*': break;
                case '*': regex.Append(".*"); break;
                case '?': regex.Append('.'); break;
                case '[':
                    // As fnmatch: a ']' right after '[' (or '[!') is a member, not the end.
                    var negated = i + 1 < pattern.Length && pattern[i + 1] == '!';
                    var from = i + (negated ? 3 : 2);
                    var close = from < pattern.Length ? pattern.IndexOf(']', from) : -1;
                    if (close < 0) { regex.Append(@"\["); break; }
                    var set = pattern[(i + (negated ? 2 : 1))..close];
                    regex.Append('[').Append(negated ? "^" : string.Empty);
                    for (var k = 0; k < set.Length; k++)
                    {
                        // A range only when both ends are in order; every other character stands for itself.
                        if (k + 2 < set.Length && set[k + 1] == '-' && set[k] <= set[k + 2])
                        {
                            regex.Append(Regex.Escape(set[k].ToString())).Append('-').Append(Regex.Escape(set[k + 2].ToString()));
                            k += 2;
                        }
                        else
                        {
                            regex.Append(set[k] is '-' or ']' or '^' or '\\' ? "\\" + set[k] : Regex.Escape(set[k].ToString()));
                        }
                    }

                    regex.Append(']');
                    i = close;
                    break;
                default: regex.Append(Regex.Escape(c.ToString())); break;
            }
        }

        try
        {
            return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline | RegexOptions.NonBacktracking);
        }
        catch (ArgumentException)
        {
            throw new InvalidInputException($"'{ClientText.Quote(pattern, 64)}' in '{field}' is not a pattern: use '*', '?' and '[abc]' as the hub clients do.");
        }
    }

    private static string FolderOf(string name) => name.LastIndexOf('/') is var slash and >= 0 ? name[..(slash + 1)] : string.Empty;

    private static string Describe(List<string> names) =>
        names.Count == 0 ? "no usable files" : "files: " + string.Join(", ", names.Take(6).Select(Printable)) + (names.Count > 6 ? $" and {names.Count - 6} more" : string.Empty);

    private static string Printable(string name) => ClientText.Quote(name, 64);
}
