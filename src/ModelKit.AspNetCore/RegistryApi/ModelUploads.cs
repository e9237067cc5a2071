using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using ModelKit.Registry;

namespace ModelKit.AspNetCore;

/// <summary>A multipart model upload, streamed into the registry's ingest pipeline (seed 002's upload and seed 000's deploy-with-file).</summary>
internal static class ModelUploads
{
    /// <summary>Reads a multipart upload into a new version of <paramref name="model_id"/> (stored and validated, or nothing stored).</summary>
    public static async Task<ModelVersionInfo> ReceiveAsync(string model_id, string? version, HttpContext context, IModelRegistry registry, IOptions<ModelKitOptions> options)
    {
        var request = context.Request;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = options.Value.MaxArtifactBytes + (1 << 20); // the file plus multipart framing
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType) || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException("The upload must be multipart/form-data with the model file in a part named 'file'.");
        }

        var boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary).Value;
        if (string.IsNullOrEmpty(boundary)) throw new InvalidInputException("The multipart boundary is missing from Content-Type.");
        var reader = new MultipartReader(boundary, request.Body);
        string? primary = null;
        var baseVersion = request.Query["base_version"].FirstOrDefault();
        Spool? spool = null;
        try
        {
            while (await NextSectionAsync(reader, context.RequestAborted) is { } section)
            {
                if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
                if (disposition.IsFormDisposition() && disposition.Name.Value == "version")
                {
                    version ??= await ReadFieldAsync(section, "version", 128, context.RequestAborted);
                    continue;
                }

                if (disposition.IsFormDisposition() && disposition.Name.Value == "primary_file")
                {
                    primary = await ReadFieldAsync(section, "primary_file", 256, context.RequestAborted);
                    continue;
                }

                if (disposition.IsFormDisposition() && disposition.Name.Value == "base_version")
                {
                    baseVersion ??= await ReadFieldAsync(section, "base_version", 128, context.RequestAborted);
                    continue;
                }

                if (!disposition.IsFileDisposition()) continue;
                var fileName = HeaderUtilities.RemoveQuotes(disposition.FileName.HasValue ? disposition.FileName : disposition.FileNameStar).Value;
                if (string.IsNullOrEmpty(fileName)) throw new InvalidInputException("The file part has no file name.");
                var body = new ClientBodyStream(section.Body);
                if (disposition.Name.Value != "files" && string.IsNullOrEmpty(baseVersion))
                {
                    if (spool is not null) throw MixedParts();
                    var stored = await registry.AddVersionAsync(model_id, string.IsNullOrEmpty(version) ? null : version, body, fileName, context.RequestAborted);

                    // One file streams straight into the store; a file part after it would be lost, so the version goes again.
                    while (await NextSectionAsync(reader, context.RequestAborted) is { } after)
                    {
                        if (ContentDispositionHeaderValue.TryParse(after.ContentDisposition, out var more) && more.IsFileDisposition())
                        {
                            await registry.DeleteVersionAsync(stored.ModelId, stored.Version, force: true, CancellationToken.None);
                            throw MixedParts();
                        }
                    }

                    return stored;
                }

                // A version of several files (a model with its tokenizer and configuration): each part named 'files', its
                // file name the file's name in the version ('vocab.txt', '1_Pooling/config.json'). The parts are kept in a
                // temporary folder until the last has arrived, then stored together.
                spool ??= new Spool(Path.Combine(Path.GetFullPath(options.Value.DataDirectory), "upload-parts"), options.Value.MaxArtifactBytes);
                await spool.AddAsync(fileName, body, context.RequestAborted);
            }

            if (spool is null) throw new InvalidInputException("The upload has no file part (expected a part named 'file', or parts named 'files', with file names).");
            if (!string.IsNullOrEmpty(baseVersion))
            {
                // Files added one by one: the new version is the base version's files with these added (or replaced by name).
                var model = await registry.GetModelAsync(model_id, context.RequestAborted);
                var basis = model.FindVersion(baseVersion) is { Status: ModelVersionStatus.Ready } ready ? ready
                    : throw new ModelNotFoundException($"Model '{model.Id}' has no ready version '{ClientText.Quote(baseVersion, 40)}' to add files to.");
                var sources = new List<ArtifactSource>();
                foreach (var file in basis.Files)
                {
                    if (!spool.Has(file.Name)) sources.Add(ArtifactSource.FromFile(file.Name, file.Path));
                }

                sources.AddRange(spool.Sources);
                var keptPrimary = spool.Has(basis.Files[0].Name) ? null : basis.Files[0].Name;
                return await registry.AddVersionAsync(
                    model.Id, string.IsNullOrEmpty(version) ? null : version, sources, !string.IsNullOrEmpty(primary) ? primary : keptPrimary ?? spool.DefaultPrimary, context.RequestAborted);
            }

            return await registry.AddVersionAsync(
                model_id, string.IsNullOrEmpty(version) ? null : version, spool.Sources, string.IsNullOrEmpty(primary) ? spool.DefaultPrimary : primary, context.RequestAborted);
        }
        finally
        {
            spool?.Dispose();
        }
    }

    private static InvalidInputException MixedParts() =>
        new("Send a version's files either as one part named 'file' or as parts named 'files' (one per file), not both.");

    // The parts of a several-file upload, on disk (under the data directory, beside the store) until they are all there.
    private sealed class Spool(string root, long maxBytes) : IDisposable
    {
        private readonly string _directory = Path.Combine(root, Guid.NewGuid().ToString("N"));
        private readonly List<ArtifactSource> _sources = [];
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private long _total;

        public IReadOnlyList<ArtifactSource> Sources => _sources;

        public bool Has(string name) => _names.Contains(name);

        // The first .onnx file, else the first file: the one the backend loads.
        public string DefaultPrimary
        {
            get
            {
                foreach (var source in _sources)
                {
                    if (source.Name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) return source.Name;
                }

                return _sources[0].Name;
            }
        }

        public async Task AddAsync(string name, Stream content, CancellationToken cancellationToken)
        {
            if (!_names.Add(name)) throw new InvalidInputException($"The upload has two files named '{ClientText.Quote(name, 80)}'.");
            Directory.CreateDirectory(_directory);
            var path = Path.Combine(_directory, _sources.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                var buffer = new byte[1 << 16];
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    _total += read;
                    if (_total > maxBytes)
                    {
                        throw new PayloadTooLargeException($"The version's files together are larger than the limit of {maxBytes} bytes (ModelKitOptions.MaxArtifactBytes).");
                    }

                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }

            _sources.Add(ArtifactSource.FromFile(name, path));
        }

        public void Dispose()
        {
            try
            {
                if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // Left for the system's temp cleaner; nothing refers to it.
            }
        }
    }

    private static async Task<MultipartSection?> NextSectionAsync(MultipartReader reader, CancellationToken cancellationToken)
    {
        try
        {
            return await reader.ReadNextSectionAsync(cancellationToken);
        }
        catch (Exception ex) when ((ex is IOException or InvalidDataException) && !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidInputException(ClientBodyStream.Describe(ex));
        }
    }

    // A small form field, read up to its limit: a longer one is refused without being buffered or echoed.
    private static async Task<string> ReadFieldAsync(MultipartSection section, string name, int maxChars, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(new ClientBodyStream(section.Body));
        var buffer = new char[maxChars + 1];
        var read = 0;
        while (read < buffer.Length && await reader.ReadAsync(buffer.AsMemory(read), cancellationToken) is > 0 and var n) read += n;
        if (read > maxChars) throw new InvalidInputException($"The '{name}' field is longer than {maxChars} characters.");
        return new string(buffer, 0, read).Trim();
    }
}
