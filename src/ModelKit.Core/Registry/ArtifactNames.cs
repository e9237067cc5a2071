namespace ModelKit.Registry;

/// <summary>
/// The rules for the names of a version's files. A name is relative to the version: segments separated by '/', none
/// empty, '.' or containing '..'; no backslash, drive colon, control character or character Windows forbids, so
/// that a data directory can move between systems.
/// </summary>
internal static class ArtifactNames
{
    public const int MaxFiles = 1000;
    private const int MaxSegmentLength = 255;
    private const int MaxLength = 1024;
    private static readonly System.Buffers.SearchValues<char> Forbidden = System.Buffers.SearchValues.Create("\\:*?\"<>|");

    /// <summary>A plain file name, as the single-stream uploads take (no directories).</summary>
    public static string ValidatePlain(string? fileName)
    {
        if (string.IsNullOrWhiteSpace(fileName)) throw new InvalidModelConfigException("The artifact's file name is required.");
        if (fileName.Contains('/', StringComparison.Ordinal) || !IsValid(fileName))
        {
            throw new InvalidModelConfigException($"The file name '{Printable(fileName)}' is not allowed: give a plain name without directories or '..'.");
        }

        return fileName;
    }

    /// <summary>
    /// Checks a version's file names and returns them with the primary one first (the others in their order).
    /// <paramref name="primary"/> null means the first file.
    /// </summary>
    public static List<ArtifactSource> OrderWithPrimaryFirst(IReadOnlyList<ArtifactSource> files, string? primary)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (files.Count == 0) throw new InvalidModelConfigException("A version needs at least one file.");
        if (files.Count > MaxFiles) throw new InvalidModelConfigException($"A version holds at most {MaxFiles} files (got {files.Count}).");
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var file in files)
        {
            ArgumentNullException.ThrowIfNull(file);
            if (string.IsNullOrWhiteSpace(file.Name) || !IsValid(file.Name))
            {
                throw new InvalidModelConfigException(
                    $"The file name '{Printable(file.Name)}' is not allowed: give a name relative to the version, with '/' between folders, without '..', backslashes or control characters.");
            }

            // Case-insensitive, so that the version's directory is the same on every file system.
            if (!names.Add(file.Name)) throw new InvalidModelConfigException($"The file name '{file.Name}' appears twice (names are compared ignoring case).");
        }

        foreach (var name in names)
        {
            for (var slash = name.IndexOf('/', StringComparison.Ordinal); slash > 0; slash = name.IndexOf('/', slash + 1))
            {
                if (names.Contains(name[..slash])) throw new InvalidModelConfigException($"'{name[..slash]}' is both a file and the folder of '{name}'.");
            }
        }

        var ordered = new List<ArtifactSource>(files.Count);
        var primaryIndex = 0;
        if (primary is not null)
        {
            primaryIndex = -1;
            for (var i = 0; i < files.Count && primaryIndex < 0; i++)
            {
                if (string.Equals(files[i].Name, primary, StringComparison.Ordinal)) primaryIndex = i;
            }

            if (primaryIndex < 0) throw new InvalidModelConfigException($"The primary file '{Printable(primary)}' is not among the version's files.");
        }

        ordered.Add(files[primaryIndex]);
        for (var i = 0; i < files.Count; i++)
        {
            if (i != primaryIndex) ordered.Add(files[i]);
        }

        return ordered;
    }

    /// <summary>Lowercase hex digits.</summary>
    public static readonly System.Buffers.SearchValues<char> LowerHex = System.Buffers.SearchValues.Create("0123456789abcdef");

    /// <summary>Whether <paramref name="value"/> is a sha256 as the registry records it: 64 lowercase hex digits.</summary>
    public static bool IsSha256(string? value) => value is { Length: 64 } && value.AsSpan().IndexOfAnyExcept(LowerHex) < 0;

    /// <summary>Whether <paramref name="name"/> may name a version's file (relative, '/' between folders, no '..', backslashes or control characters).</summary>
    public static bool IsAllowed(string? name) => !string.IsNullOrWhiteSpace(name) && IsValid(name);

    /// <summary>The name as a path under <paramref name="directory"/>.</summary>
    public static string Combine(string directory, string name) =>
        Path.Combine(directory, Path.DirectorySeparatorChar == '/' ? name : name.Replace('/', Path.DirectorySeparatorChar));

    private static bool IsValid(string name)
    {
        if (name.Length > MaxLength || name.Contains("..", StringComparison.Ordinal) || name.AsSpan().ContainsAny(Forbidden)) return false;
        foreach (var c in name)
        {
            if (char.IsControl(c)) return false;
        }

        foreach (var segment in name.Split('/'))
        {
            if (segment.Length is 0 or > MaxSegmentLength || segment == "." || segment.Trim().Length != segment.Length) return false;
        }

        return true;
    }

    // Names go back into messages: control characters are shown escaped, not written raw.
    private static string Printable(string? name)
    {
        if (name is null) return string.Empty;
        var sb = new System.Text.StringBuilder(name.Length);
        foreach (var c in name.Length > 200 ? name[..200] : name)
        {
            if (char.IsControl(c)) sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else sb.Append(c);
        }

        return sb.ToString();
    }
}
