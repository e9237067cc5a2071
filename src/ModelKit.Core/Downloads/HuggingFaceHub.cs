using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace ModelKit.Downloads;

/// <summary>
/// The client of a Hugging Face-compatible hub. API calls go through <c>api</c> (the host's resilience handler retries
/// them); file transfers through <c>files</c>, which must not follow redirects itself: the token is sent to the hub's own
/// host only, never to the storage a file redirects to, as the hub's own clients do.
/// </summary>
internal sealed partial class HuggingFaceHub : IModelHub
{
    private const int MaxRedirects = 5;
    private readonly HttpClient _api;
    private readonly HttpClient _files;
    private readonly string? _token;

    public HuggingFaceHub(HttpClient api, HttpClient files, HubOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _api = api;
        _files = files;
        Endpoint = options.ResolveEndpoint();
        _token = options.ResolveToken();
    }

    public Uri Endpoint { get; }

    public async Task<HubModelPage> SearchAsync(HubSearchQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.Offset is < 0 or > 999) throw new InvalidInputException($"A hub search starts at result 0-999 (was {query.Offset}).");
        if (query.Limit is < 1 or > 100) throw new InvalidInputException($"A hub search returns 1-100 models a page (was {query.Limit}).");
        var sort = query.Sort switch
        {
            "downloads" or "likes" or "lastModified" => query.Sort,
            _ => throw new InvalidInputException($"A hub search sorts by downloads, likes or lastModified (was '{ClientText.Quote(query.Sort, 32)}')."),
        };

        // The hub pages by cursor and never says how many match: one request for everything up to the page, and one more
        // model to know whether another page exists.
        var wanted = Math.Min(1000, query.Offset + query.Limit + 1);
        var address = new StringBuilder("api/models?limit=").Append(wanted.ToString(CultureInfo.InvariantCulture))
            .Append("&sort=").Append(sort).Append("&direction=-1");
        if (!string.IsNullOrWhiteSpace(query.Search)) address.Append("&search=").Append(Uri.EscapeDataString(query.Search));
        if (!string.IsNullOrWhiteSpace(query.Author)) address.Append("&author=").Append(Uri.EscapeDataString(query.Author));
        if (!string.IsNullOrWhiteSpace(query.Filter)) address.Append("&filter=").Append(Uri.EscapeDataString(query.Filter));
        using var document = await GetJsonAsync(address.ToString(), "searching models", null, cancellationToken).ConfigureAwait(false);
        if (document.RootElement.ValueKind != JsonValueKind.Array) throw Unexpected("its model search");
        var all = document.RootElement.EnumerateArray().Select(e => ReadModel(e, includeFiles: false)).ToList();
        var items = all.Skip(query.Offset).Take(query.Limit).ToList();
        return new HubModelPage(items, all.Count > query.Offset + query.Limit);
    }

    public async Task<HubModelInfo> GetModelAsync(string repoId, string? revision = null, CancellationToken cancellationToken = default)
    {
        CheckRepoId(repoId);
        var address = $"api/models/{RepoPath(repoId)}" + (revision is null ? string.Empty : $"/revision/{EscapeRevision(revision)}") + "?blobs=true";
        using var document = await GetJsonAsync(address, $"reading model '{repoId}'", (repoId, revision, null), cancellationToken).ConfigureAwait(false);
        if (document.RootElement.ValueKind != JsonValueKind.Object) throw Unexpected($"model '{repoId}'");
        return ReadModel(document.RootElement, includeFiles: true);
    }

    public async Task<ModelSourceContent> OpenFileAsync(string repoId, string revision, string path, long offset, CancellationToken cancellationToken = default)
    {
        CheckRepoId(repoId);
        ArgumentException.ThrowIfNullOrEmpty(path);
        var address = new Uri(Endpoint, $"{RepoPath(repoId)}/resolve/{EscapeRevision(revision)}/{string.Join('/', path.Split('/').Select(Uri.EscapeDataString))}");
        string? linkedEtag = null, repoCommit = null;
        for (var hop = 0; ; hop++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, address);
            if (offset > 0) request.Headers.Range = new RangeHeaderValue(offset, null);
            if (_token is not null && IsHub(address)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
            var response = await _files.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            try
            {
                var status = (int)response.StatusCode;
                // The hub's answer for the file names its hash and commit; a redirect to storage does not repeat them.
                linkedEtag ??= Header(response, "X-Linked-Etag");
                repoCommit ??= Header(response, "X-Repo-Commit");
                if (status is >= 300 and < 400 && response.Headers.Location is { } location)
                {
                    if (hop >= MaxRedirects) throw new SourceUnavailableException($"The hub redirected '{path}' of '{repoId}' more than {MaxRedirects} times.");
                    address = new Uri(address, location);
                    if (address.Scheme != Uri.UriSchemeHttps && address.Scheme != Uri.UriSchemeHttp) throw new SourceUnavailableException($"The hub redirected '{path}' of '{repoId}' to an address that is not http(s).");
                    response.Dispose();
                    continue;
                }

                if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && response.Content.Headers.ContentRange?.Length is { } whole && whole == offset)
                {
                    response.Dispose();
                    return new ModelSourceContent(Stream.Null, offset, whole);
                }

                if (!response.IsSuccessStatusCode) throw Failure(response, $"downloading '{path}' of '{repoId}'", (repoId, revision, path));
                var content = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                var range = response.Content.Headers.ContentRange;
                var start = response.StatusCode == HttpStatusCode.PartialContent && range?.From is { } from ? from : 0;
                var total = range?.Length ?? (start == 0 ? response.Content.Headers.ContentLength : null);
                return new ModelSourceContent(content, start, total, response)
                {
                    EntityTag = Unquote(linkedEtag ?? response.Headers.ETag?.Tag),
                    Revision = repoCommit,
                };
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    // "W/\"abc\"" or "\"abc\"" → abc, lower-case; only what looks like a hash (40 or 64 hex digits) is kept.
    private static string? Unquote(string? tag)
    {
        if (tag is null) return null;
        var value = tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;
        value = value.Trim('"').ToLowerInvariant();
        return value.Length is 40 or 64 && value.All(char.IsAsciiHexDigit) ? value : null;
    }

    /// <summary>A repository id as the hub spells it in paths: <c>org/name</c> or a bare <c>name</c>, each part of letters, digits, '.', '_' or '-'.</summary>
    public static void CheckRepoId(string repoId)
    {
        if (string.IsNullOrEmpty(repoId) || repoId.Length > 200 || !RepoId().IsMatch(repoId) || repoId.Contains("..", StringComparison.Ordinal))
        {
            throw new InvalidInputException(
                $"'{ClientText.Quote(repoId, 64)}' is not a hub model id: use 'org/name' (letters, digits, '.', '_' or '-'), as in 'sentence-transformers/all-MiniLM-L6-v2'.");
        }
    }

    /// <summary>A revision the hub can name: a branch, tag or commit (letters, digits, '.', '_', '-', '/').</summary>
    public static void CheckRevision(string revision)
    {
        if (string.IsNullOrEmpty(revision) || revision.Length > 200 || !Revision().IsMatch(revision) || revision.Contains("..", StringComparison.Ordinal))
        {
            throw new InvalidInputException($"'{ClientText.Quote(revision, 64)}' is not a revision: use a branch, a tag or a commit sha.");
        }
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?\z")]
    private static partial Regex RepoId();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._/-]*\z")]
    private static partial Regex Revision();

    private static string RepoPath(string repoId) => string.Join('/', repoId.Split('/').Select(Uri.EscapeDataString));

    private static string EscapeRevision(string revision)
    {
        CheckRevision(revision);
        return Uri.EscapeDataString(revision);
    }

    private bool IsHub(Uri address) =>
        string.Equals(address.Host, Endpoint.Host, StringComparison.OrdinalIgnoreCase) && address.Port == Endpoint.Port && address.Scheme == Endpoint.Scheme;

    private async Task<JsonDocument> GetJsonAsync(string relative, string doing, (string Repo, string? Revision, string? Path)? subject, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Endpoint, relative));
        if (_token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        HttpResponseMessage response;
        try
        {
            response = await _api.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or Polly.ExecutionRejectedException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // ExecutionRejectedException: the host's resilience handler gave up (an attempt or the total timed out, or its
            // circuit is open); it is neither an HttpRequestException nor a TimeoutException.
            throw new SourceUnavailableException($"The model hub could not be reached while {doing}: {Reason(ex)}", ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                // A transient answer (5xx, 429, 408) has already been retried by the API client's resilience handler, if
                // any: here it means the hub is unavailable, not an error to retry again.
                var failure = Failure(response, doing, subject);
                throw failure is HttpRequestException transient ? new SourceUnavailableException(transient.Message, transient) : failure;
            }

            try
            {
                using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
                return await JsonDocument.ParseAsync(body, default, cancellationToken).ConfigureAwait(false);
            }
            catch (JsonException ex)
            {
                throw new SourceUnavailableException($"The model hub answered {doing} with a body that is not JSON.", ex);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw new SourceUnavailableException($"The model hub's answer broke off while {doing}: {Reason(ex)}", ex);
            }
        }
    }

    /// <summary>
    /// The hub's refusal as ModelKit's error: an unknown repository, revision or file (the hub's <c>X-Error-Code</c>; it
    /// answers 401 for a repository it will not show) is MODEL_NOT_FOUND; 5xx, 429 and 408 are transient
    /// (<see cref="HttpRequestException"/>); anything else is SOURCE_UNAVAILABLE.
    /// </summary>
    private static Exception Failure(HttpResponseMessage response, string doing, (string Repo, string? Revision, string? Path)? subject)
    {
        var status = (int)response.StatusCode;
        var code = response.Headers.TryGetValues("X-Error-Code", out var values) ? values.FirstOrDefault() : null;
        if (subject is { } s && (status == 404 || (status == 401 && code is "RepoNotFound")))
        {
            return code switch
            {
                "RevisionNotFound" => new ModelNotFoundException($"The hub's model '{s.Repo}' has no revision '{ClientText.Quote(s.Revision, 64)}'."),
                "EntryNotFound" => new ModelNotFoundException($"The hub's model '{s.Repo}' has no file '{ClientText.Quote(s.Path, 100)}' at revision '{ClientText.Quote(s.Revision, 64)}'."),
                _ when s.Path is not null && code is null => new ModelNotFoundException($"The hub has no file '{ClientText.Quote(s.Path, 100)}' in model '{s.Repo}'."),
                _ => new ModelNotFoundException($"The hub has no model '{s.Repo}' (or it is private and the server's hub token cannot see it)."),
            };
        }

        if (status is 408 or 429 or >= 500) return new HttpRequestException($"The model hub answered {status} while {doing}.", null, response.StatusCode);
        return status switch
        {
            401 => new SourceUnavailableException($"The model hub refused the server's credentials while {doing} (401): set ModelKit:Hub:Token or HF_TOKEN."),
            403 when code is "GatedRepo" => new SourceUnavailableException($"The hub's model is gated while {doing}: accept its conditions on the hub with the account of the server's token."),
            403 => new SourceUnavailableException($"The model hub refused access while {doing} (403)."),
            _ => new SourceUnavailableException($"The model hub answered {status} while {doing}."),
        };
    }

    private static string Reason(Exception ex) => ex switch
    {
        TimeoutException or OperationCanceledException or Polly.Timeout.TimeoutRejectedException => "it did not answer in time.",
        Polly.CircuitBreaker.BrokenCircuitException => "it failed too often lately; calls to it are paused for a while.",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => "the connection was refused or the name did not resolve.",
        HttpRequestException { StatusCode: { } status } => $"it answered {(int)status}.",
        _ => "the connection failed.",
    };

    private static SourceUnavailableException Unexpected(string what) => new($"The model hub's answer for {what} is not in the hub's format.");

    private static HubModelInfo ReadModel(JsonElement model, bool includeFiles)
    {
        var id = String(model, "id") ?? String(model, "modelId") ?? throw Unexpected("a model without an id");
        var files = new List<HubFileInfo>();
        if (includeFiles && model.TryGetProperty("siblings", out var siblings) && siblings.ValueKind == JsonValueKind.Array)
        {
            foreach (var sibling in siblings.EnumerateArray())
            {
                if (String(sibling, "rfilename") is not { } name) continue;
                string? sha256 = null;
                var size = Int64(sibling, "size");
                if (sibling.TryGetProperty("lfs", out var lfs) && lfs.ValueKind == JsonValueKind.Object)
                {
                    sha256 = String(lfs, "sha256") ?? String(lfs, "oid");
                    size ??= Int64(lfs, "size");
                }

                files.Add(new HubFileInfo(name, size, IsHex(sha256, 64) ? sha256!.ToLowerInvariant() : null, IsHex(String(sibling, "blobId"), 40) ? String(sibling, "blobId")!.ToLowerInvariant() : null));
            }
        }

        return new HubModelInfo
        {
            Id = id,
            Author = String(model, "author"),
            Sha = String(model, "sha"),
            Downloads = Int64(model, "downloads"),
            Likes = Int64(model, "likes"),
            Tags = model.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array
                ? tags.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!).ToList()
                : [],
            PipelineTag = String(model, "pipeline_tag"),
            LibraryName = String(model, "library_name"),
            CreatedAt = Date(model, "createdAt"),
            LastModified = Date(model, "lastModified"),
            Gated = model.TryGetProperty("gated", out var gated) && (gated.ValueKind == JsonValueKind.True || (gated.ValueKind == JsonValueKind.String && gated.GetString() is { Length: > 0 } g && g != "false")),
            Parameters = model.TryGetProperty("safetensors", out var safetensors) && safetensors.ValueKind == JsonValueKind.Object ? Int64(safetensors, "total") : null,
            Files = files,
        };
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long? Int64(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number : null;

    private static DateTimeOffset? Date(JsonElement element, string name) =>
        String(element, name) is { } text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date) ? date : null;

    private static bool IsHex(string? text, int length) => text is not null && text.Length == length && text.All(char.IsAsciiHexDigit);
}
