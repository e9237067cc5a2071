using Microsoft.Extensions.Options;

namespace ModelKit.Downloads;

/// <summary>
/// The <c>file</c> source: a directory (its files, chosen by <see cref="FileSelection"/>) or one file (an ONNX model or
/// an archive) on the server, inside one of <see cref="DownloadOptions.LocalRoots"/>. Off while no root is configured.
/// </summary>
internal sealed class FileSource(IOptions<DownloadOptions> options) : IModelSource
{
    public const string SourceName = "file";

    public string Name => SourceName;

    public Task<ModelSourcePlan> PlanAsync(DownloadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var roots = options.Value.LocalRoots;
        if (roots.Count == 0) throw new InvalidSourceException("The 'file' source is off: the server has no ModelKit:Downloads:LocalRoots configured.");
        if (string.IsNullOrWhiteSpace(request.Path)) throw new InvalidInputException("The 'file' source needs 'path': a directory or file under one of the server's download roots.");
        if (request.Path.Length > 4096 || request.Path.Any(char.IsControl)) throw new InvalidInputException("'path' must be at most 4096 printable characters.");
        var root = roots.Select(r => Path.TrimEndingDirectorySeparator(Path.GetFullPath(r)))
            .FirstOrDefault(r => IsUnder(Path.GetFullPath(request.Path.StartsWith('/') ? request.Path : Path.Combine(r, request.Path)), r));
        var full = root is null ? null : Path.GetFullPath(request.Path.StartsWith('/') ? request.Path : Path.Combine(root, request.Path));
        // The message never echoes which roots exist or what the file system holds beyond "not there".
        if (full is null || (!File.Exists(full) && !Directory.Exists(full)) || PassesThroughLink(root!, full))
        {
            throw new ModelNotFoundException($"'{ClientText.Quote(request.Path, 64)}' is not a file or directory under the server's download roots.");
        }

        ModelSourcePlan plan;
        if (File.Exists(full))
        {
            var info = new FileInfo(full);
            var name = info.Name;
            var archive = ArchiveFormats.IsArchive(name);
            plan = new ModelSourcePlan
            {
                Location = full,
                Revision = info.LastWriteTimeUtc.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Files = [new ModelSourceFile(name, full, info.Length)],
                PrimaryFile = archive ? null : name,
                PathInArchive = archive ? request.PathInArchive ?? string.Empty : null,
            };
            if (!archive && !name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidInputException($"'{ClientText.Quote(name, 64)}' is neither an ONNX model nor an archive (.zip, .tar, .tar.gz, .tgz).");
            }
        }
        else
        {
            var files = Directory.EnumerateFiles(full, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.ReparsePoint | FileAttributes.Hidden })
                .Select(p => (Name: Path.GetRelativePath(full, p).Replace(Path.DirectorySeparatorChar, '/'), Path: p))
                .OrderBy(f => f.Name, StringComparer.Ordinal)
                .ToList();
            var (names, primary) = FileSelection.Select(files.Select(f => f.Name).ToList(), request.AllowPatterns, request.IgnorePatterns);
            var byName = files.ToDictionary(f => f.Name, f => f.Path, StringComparer.Ordinal);
            plan = new ModelSourcePlan
            {
                Location = full,
                Revision = Directory.GetLastWriteTimeUtc(full).Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Files = names.Select(n => new ModelSourceFile(n, byName[n], new FileInfo(byName[n]).Length)).ToList(),
                PrimaryFile = primary,
            };
        }

        return Task.FromResult(plan);
    }

    public Task<ModelSourceContent> OpenAsync(ModelSourcePlan plan, ModelSourceFile file, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        FileStream stream;
        try
        {
            stream = new FileStream(file.Location, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous | FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ModelNotFoundException($"The file '{ClientText.Quote(file.Name, 100)}' is no longer in the download root.");
        }

        stream.Seek(Math.Min(offset, stream.Length), SeekOrigin.Begin);
        return Task.FromResult(new ModelSourceContent(stream, stream.Position, stream.Length));
    }

    private static bool IsUnder(string path, string root) =>
        path == root || path.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    // Any link between the root and the path (the path itself included) could lead outside the root: refused as absent.
    private static bool PassesThroughLink(string root, string path)
    {
        var relative = Path.GetRelativePath(root, path);
        if (relative == ".") return false;
        var current = root;
        foreach (var part in relative.Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, part);
            if (new FileInfo(current).LinkTarget is not null || new DirectoryInfo(current).LinkTarget is not null) return true;
        }

        return false;
    }
}
