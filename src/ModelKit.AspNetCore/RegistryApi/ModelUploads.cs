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
        while (await NextSectionAsync(reader, context.RequestAborted) is { } section)
        {
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)) continue;
            if (disposition.IsFormDisposition() && disposition.Name.Value == "version")
            {
                version ??= await ReadFieldAsync(section, "version", 128, context.RequestAborted);
                continue;
            }

            if (!disposition.IsFileDisposition()) continue;
            var fileName = HeaderUtilities.RemoveQuotes(disposition.FileName.HasValue ? disposition.FileName : disposition.FileNameStar).Value;
            if (string.IsNullOrEmpty(fileName)) throw new InvalidInputException("The file part has no file name.");
            var body = new ClientBodyStream(section.Body);
            return await registry.AddVersionAsync(model_id, string.IsNullOrEmpty(version) ? null : version, body, fileName, context.RequestAborted);
        }

        throw new InvalidInputException("The upload has no file part (expected a part named 'file' with a file name).");
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
