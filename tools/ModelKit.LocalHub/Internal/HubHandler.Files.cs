using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace ModelKit.LocalHub.Internal;

/// <summary>The file endpoints: resolve (bodies of plain files, redirects for LFS files) and LFS downloads, with the faults.</summary>
internal sealed partial class HubHandler
{
    private const int ChunkBytes = 64 * 1024;

    private async Task ResolveAsync(HttpContext context, string owner, string name, string revision, ReadOnlyMemory<string> pathSegments)
    {
        counters.AddResolve();
        if (await OpenAtRevisionAsync(context, owner, name, revision) is not { } repository) return;

        if (!HubPaths.TryFilePath(pathSegments.Span, out var path) || repository.Find(path) is not { } file)
        {
            await HubErrors.EntryNotFoundAsync(context, repository, path);
            return;
        }

        var headers = context.Response.Headers;
        headers["X-Repo-Commit"] = repository.Commit;
        if (file.IsLfs)
        {
            // As the hub does for LFS files: a redirect (there to a CDN, here to /_lfs) that names the content's hash and size.
            var request = context.Request;
            var location = $"{request.Scheme}://{request.Host}{request.PathBase}/_lfs/{file.Sha256}";
            if (_token is not null) location += "?sig=" + Sign(file.Sha256);
            context.Response.StatusCode = StatusCodes.Status302Found;
            headers.Location = location;
            headers["X-Linked-Etag"] = Quote(file.Sha256);
            headers["X-Linked-Size"] = file.Length.ToString(CultureInfo.InvariantCulture);
            headers.ETag = Quote(file.Sha256);
            context.Response.ContentLength = 0;
            return;
        }

        await SendFileAsync(context, repository.Id, file, Quote(file.GitSha1));
    }

    private async Task LfsAsync(HttpContext context, string sha256)
    {
        counters.AddLfsDownload();
        if (store.FindLfs(sha256) is not ({ } repository, { FullPath: not null } file))
        {
            await HubErrors.WriteAsync(context, StatusCodes.Status404NotFound, HubErrors.EntryNotFound,
                $"Entry not found: no LFS file of the local hub has the SHA-256 '{sha256}'.");
            return;
        }

        await SendFileAsync(context, repository.Id, file, Quote(file.Sha256));
    }

    /// <summary>A file body: one byte range when asked (unless ignored), with the throttle, drop and corruption faults.</summary>
    private async Task SendFileAsync(HttpContext context, string repositoryId, HubFile file, string etag)
    {
        var request = context.Request;
        var response = context.Response;
        var total = file.Length;
        response.Headers.ETag = etag;
        response.Headers.AcceptRanges = "bytes";
        response.ContentType = "application/octet-stream";

        var start = 0L;
        var count = total;
        var rangeHeader = request.Headers.Range.ToString();
        if (rangeHeader.Length > 0)
        {
            counters.AddRange(request.Path.Value ?? "", rangeHeader);
            if (!faults.IgnoreRange)
            {
                var range = ByteRange.Parse(rangeHeader, total, out var unsatisfiable);
                if (unsatisfiable)
                {
                    response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                    response.Headers.ContentRange = "bytes */" + total.ToString(CultureInfo.InvariantCulture);
                    response.ContentLength = 0;
                    return;
                }

                if (range is { } r)
                {
                    response.StatusCode = StatusCodes.Status206PartialContent;
                    response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {r.Start}-{r.End}/{total}");
                    (start, count) = (r.Start, r.Length);
                }
            }
        }

        response.ContentLength = count;
        if (HttpMethods.IsHead(request.Method) || count == 0) return;

        var aborted = context.RequestAborted;
        var dropAfter = faults.DropAfterBytes;
        var drop = dropAfter > 0 && count > dropAfter && faults.TryTakeDrop();
        var corruptAt = faults.IsCorrupted(repositoryId, file.Path) ? total / 2 : -1;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            await using var stream = new FileStream(file.FullPath!, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
            stream.Position = start;
            var sent = 0L;
            while (sent < count)
            {
                var bytesPerSecond = faults.BytesPerSecond;
                var chunk = bytesPerSecond > 0 ? (int)Math.Clamp(bytesPerSecond / 10, 1, ChunkBytes) : ChunkBytes;
                var want = (int)Math.Min(chunk, count - sent);
                if (drop) want = (int)Math.Min(want, dropAfter - sent);
                var read = await stream.ReadAtLeastAsync(buffer.AsMemory(0, want), want, throwOnEndOfStream: false, aborted);
                if (read < want)
                {
                    // The file became shorter than the Content-Length already sent: the only honest answer is a cut connection.
                    context.Abort();
                    return;
                }

                var offset = start + sent;
                if (corruptAt >= offset && corruptAt < offset + read) buffer[corruptAt - offset] ^= 0xFF;
                await response.Body.WriteAsync(buffer.AsMemory(0, read), aborted);
                sent += read;
                counters.AddBodyBytes(read);
                if (drop && sent >= dropAfter)
                {
                    // Ending short of the Content-Length makes Kestrel close the connection once what was written is sent
                    // (HttpContext.Abort would reset it, and the client could lose the bytes still in flight).
                    await response.Body.FlushAsync(aborted);
                    counters.AddDropped();
                    return;
                }

                if (bytesPerSecond > 0 && sent < count)
                {
                    await response.Body.FlushAsync(aborted);
                    await Task.Delay(TimeSpan.FromSeconds(read / (double)bytesPerSecond), aborted);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string Quote(string value) => "\"" + value + "\"";
}
