using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace ModelKit.Downloads;

/// <summary>
/// The <c>url</c> source: one file over HTTP(S) — an ONNX model, or an archive (<c>.zip</c>, <c>.tar</c>, <c>.tar.gz</c>,
/// <c>.tgz</c>) with the model's folder inside it. Resumed with <c>Range</c> and <c>If-Range</c> on the ETag (or
/// Last-Modified) seen when planned, so a file that changed meanwhile starts over instead of being spliced. Loopback and
/// private-network addresses are refused unless <see cref="DownloadOptions.AllowPrivateNetworkUrls"/>.
/// </summary>
internal sealed class UrlSource(HttpClient http, IOptions<DownloadOptions> options) : IModelSource
{
    public const string SourceName = "url";

    public string Name => SourceName;

    public async Task<ModelSourcePlan> PlanAsync(DownloadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var url = request.Url ?? throw new InvalidInputException("The 'url' source needs 'url': the http(s) address of an ONNX file or an archive.");
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps) || !string.IsNullOrEmpty(url.UserInfo))
        {
            throw new InvalidInputException("'url' must be an absolute http or https address without credentials.");
        }

        await CheckAddressAsync(url, cancellationToken).ConfigureAwait(false);
        var name = Uri.UnescapeDataString(url.Segments[^1]);
        var archive = ArchiveFormats.IsArchive(name);
        if (!archive && !name.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException($"The address's file '{ClientText.Quote(name, 64)}' is neither an ONNX model (.onnx) nor an archive (.zip, .tar, .tar.gz, .tgz).");
        }

        if (!Registry.ArtifactNames.IsAllowed(name)) throw new InvalidInputException("The address's file name cannot name a model file.");
        using var head = new HttpRequestMessage(HttpMethod.Head, url);
        HttpResponseMessage response;
        try
        {
            response = await SendAsync(head, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new SourceUnavailableException($"'{url.Host}' could not be reached to plan the download.", ex);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.NotFound) throw new ModelNotFoundException($"'{url.Host}' has no file at that address (404).");
            // Some servers refuse HEAD; the transfer then learns the size from its first answer.
            var ok = response.IsSuccessStatusCode;
            if (!ok && response.StatusCode != HttpStatusCode.MethodNotAllowed) throw new SourceUnavailableException($"'{url.Host}' answered {(int)response.StatusCode} to the download's first request.");
            var validator = ok ? response.Headers.ETag?.ToString() ?? response.Content.Headers.LastModified?.ToString("R") : null;
            return new ModelSourcePlan
            {
                Location = url.AbsoluteUri,
                Revision = validator ?? "unversioned",
                Files = [new ModelSourceFile(name, url.AbsoluteUri, ok ? response.Content.Headers.ContentLength : null)],
                PrimaryFile = archive ? null : name,
                PathInArchive = archive ? request.PathInArchive ?? string.Empty : null,
            };
        }
    }

    public async Task<ModelSourceContent> OpenAsync(ModelSourcePlan plan, ModelSourceFile file, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(file);
        var url = new Uri(file.Location);
        await CheckAddressAsync(url, cancellationToken).ConfigureAwait(false);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (offset > 0)
        {
            request.Headers.Range = new RangeHeaderValue(offset, null);
            if (plan.Revision.StartsWith('"') || plan.Revision.StartsWith("W/", StringComparison.Ordinal))
            {
                if (EntityTagHeaderValue.TryParse(plan.Revision, out var tag) && !tag.IsWeak) request.Headers.IfRange = new RangeConditionHeaderValue(tag);
            }
            else if (DateTimeOffset.TryParse(plan.Revision, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var date))
            {
                request.Headers.IfRange = new RangeConditionHeaderValue(date);
            }
        }

        var response = await SendAsync(request, cancellationToken).ConfigureAwait(false);

        try
        {
            var status = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && response.Content.Headers.ContentRange?.Length == offset)
            {
                response.Dispose();
                return new ModelSourceContent(Stream.Null, offset, offset);
            }

            if (status is 408 or 429 or >= 500) throw new HttpRequestException($"'{url.Host}' answered {status}.", null, response.StatusCode);
            if (response.StatusCode == HttpStatusCode.NotFound) throw new ModelNotFoundException($"'{url.Host}' no longer has the file (404).");
            if (!response.IsSuccessStatusCode) throw new SourceUnavailableException($"'{url.Host}' answered {status} to the download.");
            var range = response.Content.Headers.ContentRange;
            var start = response.StatusCode == HttpStatusCode.PartialContent && range?.From is { } from ? from : 0;
            var total = range?.Length ?? (start == 0 ? response.Content.Headers.ContentLength : null);
            var content = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new ModelSourceContent(content, start, total, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    // Sends, following redirects; a redirect to a private address or to one that is not http(s) is the client's mistake
    // (INVALID_INPUT, not retried); other failures pass through as HttpRequestException (transient).
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        try
        {
            return await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException ex) when (ex.InnerException is PrivateAddressException refused)
        {
            throw new InvalidInputException($"The address redirects to where the server does not download from: {refused.Message}");
        }
        catch (Exception ex) when (ex is UriFormatException or InvalidOperationException or NotSupportedException)
        {
            // A redirect to an address HttpClient cannot follow (file:, a malformed Location …).
            throw new InvalidInputException("The address redirects to a location that is not an http or https address.");
        }
    }

    /// <summary>
    /// The handler of the <c>url</c> source's client: it follows redirects, and unless private networks are allowed it
    /// checks the address it actually connects to, so that neither a redirect nor a name that resolves differently the
    /// second time reaches loopback or a private network.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(DownloadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler { AllowAutoRedirect = true, MaxAutomaticRedirections = 5, ConnectTimeout = TimeSpan.FromSeconds(30) };
        if (options.AllowPrivateNetworkUrls) return handler;
        handler.ConnectCallback = async (context, cancellationToken) =>
        {
            var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken).ConfigureAwait(false);
            var allowed = addresses.Where(a => !IsPrivate(a)).ToArray();
            if (allowed.Length == 0) throw new PrivateAddressException($"'{ClientText.Quote(context.DnsEndPoint.Host, 64)}' is a loopback or private-network address, which this server does not download from (ModelKit:Downloads:AllowPrivateNetworkUrls).");
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        };
        return handler;
    }

    // The clear refusal before anything is sent; CreateHandler's check at connect time is what enforces it. (the name is resolved again when connecting), but it keeps a client
    // from pointing the server at its own loopback or private network by name or literal address.
    private async Task CheckAddressAsync(Uri url, CancellationToken cancellationToken)
    {
        if (options.Value.AllowPrivateNetworkUrls) return;
        IPAddress[] addresses;
        try
        {
            addresses = IPAddress.TryParse(url.DnsSafeHost, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(url.DnsSafeHost, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new SourceUnavailableException($"The host '{ClientText.Quote(url.Host, 64)}' could not be resolved.", ex);
        }

        if (addresses.Any(IsPrivate))
        {
            throw new InvalidInputException($"'{ClientText.Quote(url.Host, 64)}' is a loopback or private-network address, which this server does not download from (ModelKit:Downloads:AllowPrivateNetworkUrls).");
        }
    }

    private static bool IsPrivate(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var v6 = address.GetAddressBytes();
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address: judge that one.
            if (v6[0] == 0x00 && v6[1] == 0x64 && v6[2] == 0xff && v6[3] == 0x9b && v6.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0) return IsPrivate(new IPAddress(v6.AsSpan(12, 4)));
            if (v6[0] == 0x20 && v6[1] == 0x02) return IsPrivate(new IPAddress(v6.AsSpan(2, 4)));
            if (v6[0] == 0xff) return true; // multicast
            if (v6.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0) return IsPrivate(new IPAddress(v6.AsSpan(12, 4))); // ::a.b.c.d
        }
        if (IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal) return true;
        if (address.AddressFamily != AddressFamily.InterNetwork) return address.Equals(IPAddress.IPv6Any);
        var b = address.GetAddressBytes();
        return b[0] is 10 or 0 || b[0] >= 224 || (b[0] == 198 && b[1] is 18 or 19) || (b[0] == 172 && b[1] is >= 16 and <= 31) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254) || (b[0] == 100 && b[1] is >= 64 and <= 127);
    }

    /// <summary>A connection refused because its address is loopback or private (never retried).</summary>
    private sealed class PrivateAddressException(string message) : Exception(message);
}
