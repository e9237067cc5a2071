using System.Formats.Tar;
using System.IO.Compression;
using ModelKit.Registry;

namespace ModelKit.Downloads;

/// <summary>
/// Unpacks the folder of a model from a downloaded archive (<c>.zip</c>, <c>.tar</c>, <c>.tar.gz</c>, <c>.tgz</c>): only
/// regular files under the path asked for, each name checked as a model file name (no '..', no absolute paths, no links),
/// and no more bytes in all than the registry accepts.
/// </summary>
internal static class ArchiveFormats
{
    public static bool IsArchive(string name) =>
        name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".tar", StringComparison.OrdinalIgnoreCase)
        || name.EndsWith(".tar.gz", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".tgz", StringComparison.OrdinalIgnoreCase);

    /// <summary>Writes the files under <paramref name="inside"/> into <paramref name="target"/>; returns their names relative to it.</summary>
    public static async Task<List<string>> ExtractAsync(string archive, string archiveName, string inside, string target, long maxBytes, CancellationToken cancellationToken)
    {
        var prefix = inside.Trim('/');
        var names = new List<string>();
        long total = 0;
        Directory.CreateDirectory(target);

        async Task TakeAsync(string entryName, Stream content)
        {
            // Only a leading "./" (as tar writes it) is dropped: trimming every leading '.' and '/' would turn "../x.onnx"
            // or "/etc/x" into harmless-looking names and hide an archive that tries to write outside its folder.
            var name = entryName.Replace('\\', '/');
            while (name.StartsWith("./", StringComparison.Ordinal)) name = name[2..];
            if (prefix.Length > 0)
            {
                if (name == prefix) name = Path.GetFileName(prefix);
                else if (name.StartsWith(prefix + "/", StringComparison.Ordinal)) name = name[(prefix.Length + 1)..];
                else return;
            }

            if (!ArtifactNames.IsAllowed(name))
            {
                throw new InvalidModelConfigException($"The archive holds an entry named '{ClientText.Quote(entryName, 100)}', which cannot name a model file (absolute, with '..' or forbidden characters).");
            }

            var path = ArtifactNames.Combine(target, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            using var output = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            var buffer = new byte[1 << 16];
            int read;
            while ((read = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            {
                total += read;
                if (total > maxBytes) throw new PayloadTooLargeException($"The archive unpacks to more than {maxBytes} bytes, the registry's limit (ModelKit:MaxArtifactBytes).");
                await output.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);

            names.Add(name);
        }

        try
        {
            if (archiveName.EndsWith(".zip", StringComparison.OrdinalIgnoreCase))
            {
                using var zip = ZipFile.OpenRead(archive);
                foreach (var entry in zip.Entries)
                {
                    if (entry.FullName.EndsWith('/')) continue;
                    using var content = entry.Open();
                    await TakeAsync(entry.FullName, content).ConfigureAwait(false);
                }
            }
            else
            {
                using var file = new FileStream(archive, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
                using Stream stream = archiveName.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) ? file : new GZipStream(file, CompressionMode.Decompress);
                using var reader = new TarReader(stream);
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    // Links, devices and folders are skipped: only regular files become model files.
                    if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null) continue;
                    await TakeAsync(entry.Name, entry.DataStream).ConfigureAwait(false);
                }
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or FormatException || (ex is IOException && ex is not FileNotFoundException && !IsDiskFull(ex)))
        {
            throw new InvalidModelConfigException($"The archive '{ClientText.Quote(archiveName, 64)}' could not be read: it is damaged or not a {Format(archiveName)} file.", ex);
        }

        if (names.Count == 0)
        {
            throw new InvalidModelConfigException(prefix.Length == 0
                ? $"The archive '{ClientText.Quote(archiveName, 64)}' holds no files."
                : $"The archive '{ClientText.Quote(archiveName, 64)}' has nothing under '{ClientText.Quote(prefix, 64)}'.");
        }

        return names;
    }

    /// <summary>Whether <paramref name="ex"/> says the disk is full (ENOSPC, or Windows' ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL).</summary>
    public static bool IsDiskFull(Exception ex) => ex is IOException io && (io.HResult & 0xFFFF) is 28 or 39 or 112;

    private static string Format(string name) => name.EndsWith(".zip", StringComparison.OrdinalIgnoreCase) ? "zip" : name.EndsWith(".tar", StringComparison.OrdinalIgnoreCase) ? "tar" : "gzip-compressed tar";
}
