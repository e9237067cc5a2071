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
        var allowed = allow.Count == 0 ? null : allow.Select(Compile).ToList();
        var ignored = ignore.Select(Compile).ToList();
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
    public static bool Matches(string pattern, string name) => Compile(pattern).IsMatch(name);

    private static Regex Compile(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern) || pattern.Length > 256) throw new InvalidInputException("A file pattern must be 1-256 characters.");
        if (pattern.EndsWith('/')) pattern += "*";
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*': regex.Append(".*"); break;
                case '?': regex.Append('.'); break;
                case '[':
                    var close = pattern.IndexOf(']', i + 1);
                    if (close < 0) { regex.Append(@"\["); break; }
                    var set = pattern[(i + 1)..close];
                    regex.Append('[').Append(set.StartsWith('!') ? "^" + Regex.Escape(set[1..]) : Regex.Escape(set)).Append(']');
                    i = close;
                    break;
                default: regex.Append(Regex.Escape(c.ToString())); break;
            }
        }

        return new Regex(regex.Append('$').ToString(), RegexOptions.CultureInvariant | RegexOptions.Singleline, TimeSpan.FromMilliseconds(100));
    }

    private static string FolderOf(string name) => name.LastIndexOf('/') is var slash and >= 0 ? name[..(slash + 1)] : string.Empty;

    private static string Describe(List<string> names) =>
        names.Count == 0 ? "no usable files" : "files: " + string.Join(", ", names.Take(6).Select(Printable)) + (names.Count > 6 ? $" and {names.Count - 6} more" : string.Empty);

    private static string Printable(string name) => ClientText.Quote(name, 64);
}
