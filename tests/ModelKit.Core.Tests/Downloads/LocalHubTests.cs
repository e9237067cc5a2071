using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelKit.LocalHub;
using Hub = ModelKit.LocalHub.LocalHubServer;

namespace ModelKit.Tests.Downloads;

/// <summary>
/// The local Hugging Face-compatible hub over real sockets, with a plain <see cref="HttpClient"/>: search and paging,
/// model info, trees, resolve (plain files and LFS redirects), byte ranges, errors, the token, and every fault.
/// </summary>
public sealed partial class LocalHubTests : IAsyncLifetime, IDisposable
{
    private const string Repo = "acme/tiny-encoder";
    private const long LfsThreshold = 64 * 1024;

    private static readonly byte[] Model = Bytes(10_000, seed: 1);
    private static readonly byte[] Weights = Bytes(70_000, seed: 2);
    private static readonly byte[] Vocab = Encoding.UTF8.GetBytes(string.Join('\n', Enumerable.Range(0, 500).Select(i => "token" + i)));

    private readonly TempDirectory _root = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { AllowAutoRedirect = false });
    private Hub _hub = null!;

    public async Task InitializeAsync()
    {
        Write(Repo, "config.json", """{"model_type": "bert", "hidden_size": 8}""");
        Write(Repo, "onnx/model.onnx", Model);
        Write(Repo, "vocab.txt", Vocab);
        Write(Repo, "data/weights.txt", Weights);
        Write(Repo, ".hub.json", """
            {"downloads": 50, "likes": 3, "tags": ["onnx", "feature-extraction"], "pipeline_tag": "feature-extraction",
             "library_name": "sentence-transformers", "createdAt": "2024-01-02T03:04:05.000Z"}
            """);
        Write("acme/big-encoder", ".hub.json", """{"downloads": 500, "tags": ["onnx"]}""");
        Write("acme/big-encoder", "README.md", "big");
        Write("acme/decoder", ".hub.json", """{"downloads": 5}""");
        Write("acme/decoder", "README.md", "decoder");
        Write("other/Encoder-X", ".hub.json", """{"downloads": 100, "likes": 9}""");
        Write("other/Encoder-X", "README.md", "x");
        _hub = await StartAsync();
        _http.BaseAddress = _hub.Endpoint;
    }

    public async Task DisposeAsync() => await _hub.DisposeAsync();

    public void Dispose()
    {
        _http.Dispose();
        _root.Dispose();
    }

    [Fact]
    public async Task Search_WithLimit_PagesThroughTheLinkHeader()
    {
        using var first = await _http.GetAsync(new Uri("api/models?search=ENCODER&sort=downloads&direction=-1&limit=2", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(["acme/big-encoder", "other/Encoder-X"], Ids(await Json(first)));
        var next = NextLink(first);
        Assert.NotNull(next);
        Assert.Equal(_hub.Endpoint.Authority, next.Authority);

        using var second = await _http.GetAsync(next);
        var page = await Json(second);
        Assert.Equal([Repo], Ids(page));
        Assert.Null(NextLink(second));
        var model = page.RootElement[0];
        Assert.Equal(50, model.GetProperty("downloads").GetInt32());
        Assert.Equal("feature-extraction", model.GetProperty("pipeline_tag").GetString());
        Assert.Equal(_hub.CommitOf(Repo), model.GetProperty("sha").GetString());
        Assert.False(model.TryGetProperty("siblings", out _));
    }

    [Fact]
    public async Task Search_ByAuthorTagAndFull_NarrowsAndListsSiblings()
    {
        using var byAuthor = await Json("api/models?author=acme&sort=likes");
        Assert.Equal([Repo, "acme/big-encoder", "acme/decoder"], Ids(byAuthor));

        using var byTag = await Json("api/models?filter=onnx&full=true");
        Assert.Equal(["acme/big-encoder", Repo], Ids(byTag));
        var siblings = byTag.RootElement[1].GetProperty("siblings").EnumerateArray().Select(s => s.GetProperty("rfilename").GetString()!).ToArray();
        Assert.Equal(["config.json", "data/weights.txt", "onnx/model.onnx", "vocab.txt"], siblings);
    }

    [Fact]
    public async Task ModelInfo_WithBlobs_ReportsSizesGitBlobIdsAndLfsHashes()
    {
        using var info = await Json($"api/models/{Repo}?blobs=true");
        var root = info.RootElement;
        Assert.Equal(Repo, root.GetProperty("id").GetString());
        Assert.Equal("acme", root.GetProperty("author").GetString());
        Assert.Equal(_hub.CommitOf(Repo), root.GetProperty("sha").GetString());
        Assert.Matches("^[0-9a-f]{40}$", root.GetProperty("sha").GetString());
        Assert.Equal("2024-01-02T03:04:05.000Z", root.GetProperty("createdAt").GetString());
        Assert.Equal(8, root.GetProperty("config").GetProperty("hidden_size").GetInt32());
        Assert.False(root.GetProperty("private").GetBoolean());
        var siblings = root.GetProperty("siblings").EnumerateArray().ToDictionary(s => s.GetProperty("rfilename").GetString()!);
        Assert.Equal(["config.json", "data/weights.txt", "onnx/model.onnx", "vocab.txt"], siblings.Keys.Order(StringComparer.Ordinal));

        var vocab = siblings["vocab.txt"];
        Assert.Equal(Vocab.Length, vocab.GetProperty("size").GetInt64());
        Assert.Equal(GitBlobSha1(Vocab), vocab.GetProperty("blobId").GetString());
        Assert.False(vocab.TryGetProperty("lfs", out _));

        foreach (var (name, content) in new[] { ("onnx/model.onnx", Model), ("data/weights.txt", Weights) })
        {
            var lfs = siblings[name].GetProperty("lfs");
            Assert.Equal(Sha256(content), lfs.GetProperty("sha256").GetString());
            Assert.Equal(content.Length, lfs.GetProperty("size").GetInt64());
            var pointer = $"version https://git-lfs.github.com/spec/v1\noid sha256:{Sha256(content)}\nsize {content.Length}\n";
            Assert.Equal(pointer.Length, lfs.GetProperty("pointerSize").GetInt32());
            Assert.Equal(GitBlobSha1(Encoding.UTF8.GetBytes(pointer)), siblings[name].GetProperty("blobId").GetString());
        }

        var total = siblings.Values.Sum(s => s.GetProperty("size").GetInt64());
        Assert.Equal(total, root.GetProperty("usedStorage").GetInt64());
    }

    [Fact]
    public async Task ModelInfo_AtTheCommitSha_AnswersTheSameModel()
    {
        var commit = _hub.CommitOf(Repo);
        using var info = await Json($"api/models/{Repo}/revision/{commit}");
        Assert.Equal(commit, info.RootElement.GetProperty("sha").GetString());
        Assert.False(info.RootElement.GetProperty("siblings")[0].TryGetProperty("blobId", out _));
    }

    [Fact]
    public async Task Tree_NotRecursive_ListsDirectChildrenDirectoriesIncluded()
    {
        using var tree = await Json($"api/models/{Repo}/tree/main");
        var entries = tree.RootElement.EnumerateArray().Select(e => (e.GetProperty("type").GetString(), e.GetProperty("path").GetString())).ToArray();
        Assert.Equal([("file", "config.json"), ("directory", "data"), ("directory", "onnx"), ("file", "vocab.txt")], entries);

        using var onnx = await Json($"api/models/{Repo}/tree/main/onnx");
        var model = Assert.Single(onnx.RootElement.EnumerateArray());
        Assert.Equal("onnx/model.onnx", model.GetProperty("path").GetString());
        Assert.Equal(Model.Length, model.GetProperty("size").GetInt64());
        Assert.Equal(Sha256(Model), model.GetProperty("lfs").GetProperty("oid").GetString());
    }

    [Fact]
    public async Task Tree_Recursive_ListsEveryFileAndDirectory()
    {
        using var tree = await Json($"api/models/{Repo}/tree/main?recursive=true");
        var entries = tree.RootElement.EnumerateArray().ToDictionary(e => e.GetProperty("path").GetString()!);
        Assert.Equal(["config.json", "data", "data/weights.txt", "onnx", "onnx/model.onnx", "vocab.txt"], entries.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("directory", entries["onnx"].GetProperty("type").GetString());
        Assert.Equal(GitBlobSha1(Vocab), entries["vocab.txt"].GetProperty("oid").GetString());
        Assert.False(entries["vocab.txt"].TryGetProperty("lfs", out _));
        Assert.Equal(Weights.Length, entries["data/weights.txt"].GetProperty("lfs").GetProperty("size").GetInt64());

        using var missing = await _http.GetAsync(new Uri($"api/models/{Repo}/tree/main/nothing?recursive=1", UriKind.Relative));
        Assert.Equal((HttpStatusCode.NotFound, "EntryNotFound"), (missing.StatusCode, ErrorCode(missing)));
    }

    [Fact]
    public async Task Resolve_PlainFile_AnswersTheBodyWithTheGitBlobIdAsETag()
    {
        using var response = await _http.GetAsync(new Uri($"{Repo}/resolve/main/vocab.txt", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Vocab, await response.Content.ReadAsByteArrayAsync());
        Assert.Equal($"\"{GitBlobSha1(Vocab)}\"", response.Headers.ETag?.Tag);
        Assert.Equal(_hub.CommitOf(Repo), Header(response, "X-Repo-Commit"));
        Assert.Equal(Vocab.Length, response.Content.Headers.ContentLength);
        Assert.Contains("bytes", response.Headers.AcceptRanges);
    }

    [Fact]
    public async Task Resolve_LfsFile_RedirectsWithLinkedEtagAndSize_AndTheRedirectYieldsTheBytes()
    {
        using var response = await _http.GetAsync(new Uri($"{Repo}/resolve/main/onnx/model.onnx", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        Assert.Equal($"\"{Sha256(Model)}\"", Header(response, "X-Linked-Etag"));
        Assert.Equal(Model.Length.ToString(CultureInfo.InvariantCulture), Header(response, "X-Linked-Size"));
        Assert.Equal(_hub.CommitOf(Repo), Header(response, "X-Repo-Commit"));
        Assert.Equal($"\"{Sha256(Model)}\"", response.Headers.ETag?.Tag);

        using var download = await _http.GetAsync(response.Headers.Location);
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(Model, await download.Content.ReadAsByteArrayAsync());
        Assert.Equal($"\"{Sha256(Model)}\"", download.Headers.ETag?.Tag);

        using var following = new HttpClient { BaseAddress = _hub.Endpoint };
        Assert.Equal(Weights, await following.GetByteArrayAsync(new Uri($"{Repo}/resolve/{_hub.CommitOf(Repo)}/data/weights.txt", UriKind.Relative)));
    }

    [Theory]
    [InlineData("vocab.txt", "bytes=100-199", 100, 199)]
    [InlineData("vocab.txt", "bytes=3000-", 3000, -1)]
    [InlineData("vocab.txt", "bytes=-10", -10, -1)]
    [InlineData("vocab.txt", "bytes=5-999999", 5, -1)]
    [InlineData("onnx/model.onnx", "bytes=4096-", 4096, -1)]
    public async Task Resolve_Range_Answers206WithContentRangeAndTheExactBytes(string path, string range, int start, int end)
    {
        var content = path == "vocab.txt" ? Vocab : Model;
        var first = start < 0 ? content.Length + start : start;
        var last = end < 0 ? content.Length - 1 : end;
        using var response = await SendAsync(HttpMethod.Get, $"{Repo}/resolve/main/{path}", range, followLfs: true);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes {first}-{last}/{content.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(last - first + 1, response.Content.Headers.ContentLength);
        Assert.Equal(content[first..(last + 1)], await response.Content.ReadAsByteArrayAsync());
        Assert.Contains(_hub.Counters.RangeRequests, r => r.Range == range);
    }

    [Theory]
    [InlineData("vocab.txt")]
    [InlineData("onnx/model.onnx")]
    public async Task Resolve_RangeFromTheEnd_Answers416WithTheLength(string path)
    {
        var length = path == "vocab.txt" ? Vocab.Length : Model.Length;
        using var response = await SendAsync(HttpMethod.Get, $"{Repo}/resolve/main/{path}", $"bytes={length}-", followLfs: true);
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal($"bytes */{length}", response.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task Head_AnswersTheHeadersWithoutABody()
    {
        using var plain = await SendAsync(HttpMethod.Head, $"{Repo}/resolve/main/vocab.txt");
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal(Vocab.Length, plain.Content.Headers.ContentLength);
        Assert.Equal($"\"{GitBlobSha1(Vocab)}\"", plain.Headers.ETag?.Tag);
        Assert.Empty(await plain.Content.ReadAsByteArrayAsync());

        using var lfs = await SendAsync(HttpMethod.Head, $"{Repo}/resolve/main/onnx/model.onnx");
        Assert.Equal(HttpStatusCode.Found, lfs.StatusCode);
        Assert.Equal(Model.Length.ToString(CultureInfo.InvariantCulture), Header(lfs, "X-Linked-Size"));

        using var ranged = await SendAsync(HttpMethod.Head, lfs.Headers.Location!.ToString(), "bytes=10-19");
        Assert.Equal(HttpStatusCode.PartialContent, ranged.StatusCode);
        Assert.Equal(10, ranged.Content.Headers.ContentLength);
        Assert.Empty(await ranged.Content.ReadAsByteArrayAsync());
        Assert.Equal(0, _hub.Counters.BodyBytes);
    }

    [Theory]
    [InlineData("acme/nothing/resolve/main/vocab.txt", "RepoNotFound")]
    [InlineData("api/models/acme/nothing", "RepoNotFound")]
    [InlineData("api/models/acme/nothing/tree/main", "RepoNotFound")]
    [InlineData("acme/tiny-encoder/resolve/main/missing.txt", "EntryNotFound")]
    [InlineData("acme/tiny-encoder/resolve/v2/vocab.txt", "RevisionNotFound")]
    [InlineData("api/models/acme/tiny-encoder/revision/0000000000000000000000000000000000000000", "RevisionNotFound")]
    [InlineData("api/models/acme/tiny-encoder/tree/dev", "RevisionNotFound")]
    public async Task UnknownRepoFileOrRevision_Answers404WithTheHubsErrorCode(string path, string code)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(code, ErrorCode(response));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Token_IsRequiredOnEveryEndpoint_AndTheLfsRedirectCarriesItsOwnSignature()
    {
        await using var hub = await StartAsync(token: "hf_secret");
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = hub.Endpoint };

        foreach (var path in new[] { "api/models", $"api/models/{Repo}", $"{Repo}/resolve/main/vocab.txt", $"/_lfs/{Sha256(Model)}" })
        {
            using var anonymous = await http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal((HttpStatusCode.Unauthorized, "RepoNotFound"), (anonymous.StatusCode, ErrorCode(anonymous)));
        }

        using var wrong = new HttpRequestMessage(HttpMethod.Get, $"api/models/{Repo}");
        wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "hf_other");
        using var wrongResponse = await http.SendAsync(wrong);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongResponse.StatusCode);

        using var following = new HttpClient { BaseAddress = hub.Endpoint };
        following.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "hf_secret");
        using var info = await following.GetAsync(new Uri($"api/models/{Repo}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, info.StatusCode);
        // HttpClient drops the Authorization header on the redirect; the signed /_lfs address needs none.
        Assert.Equal(Model, await following.GetByteArrayAsync(new Uri($"{Repo}/resolve/main/onnx/model.onnx", UriKind.Relative)));
    }

    [Fact]
    public async Task HostileSiblings_AreListed_ButResolveTo404()
    {
        _hub.Faults.AddHostileSiblings(Repo, LocalHubFaults.HostileNames);

        using var info = await Json($"api/models/{Repo}?blobs=true");
        var siblings = info.RootElement.GetProperty("siblings").EnumerateArray().Select(s => s.GetProperty("rfilename").GetString()!).ToHashSet();
        Assert.All(LocalHubFaults.HostileNames, name => Assert.Contains(name, siblings));
        Assert.Contains("vocab.txt", siblings);
        using var tree = await Json($"api/models/{Repo}/tree/main");
        var paths = tree.RootElement.EnumerateArray().Select(e => e.GetProperty("path").GetString()!).ToHashSet();
        Assert.All(LocalHubFaults.HostileNames, name => Assert.Contains(name, paths));

        foreach (var name in LocalHubFaults.HostileNames)
        {
            using var escaped = await _http.GetAsync(new Uri($"{Repo}/resolve/main/{Uri.EscapeDataString(name)}", UriKind.Relative));
            Assert.Equal((HttpStatusCode.NotFound, "EntryNotFound"), (escaped.StatusCode, ErrorCode(escaped)));
        }

        // Sent as is, without the client's dot-segment clean-up: the raw path never reaches the file system.
        foreach (var raw in new[] { $"/{Repo}/resolve/main/../../../etc/passwd", $"/{Repo}/resolve/main/onnx/../vocab.txt", $"/{Repo}/resolve/main//vocab.txt" })
        {
            Assert.StartsWith("HTTP/1.1 404", await RawGetAsync(raw));
        }
    }

    [Fact]
    public async Task Commit_ChangesWhenAFileChanges_AndOldCommitsAreNoLongerServed()
    {
        var before = _hub.CommitOf(Repo);
        Write(Repo, "config.json", """{"model_type": "bert", "hidden_size": 16}""");
        var after = _hub.CommitOf(Repo);
        Assert.NotEqual(before, after);

        using var response = await _http.GetAsync(new Uri($"{Repo}/resolve/main/config.json", UriKind.Relative));
        Assert.Equal(after, Header(response, "X-Repo-Commit"));
        using var stale = await _http.GetAsync(new Uri($"{Repo}/resolve/{before}/config.json", UriKind.Relative));
        Assert.Equal("RevisionNotFound", ErrorCode(stale));

        Write("acme/new-model", "README.md", "added while the hub runs");
        using var added = await Json("api/models/acme/new-model");
        Assert.Equal(_hub.CommitOf("acme/new-model"), added.RootElement.GetProperty("sha").GetString());
    }

    [Fact]
    public async Task SeedMiniLm_ServesTheModelAsAnLfsFileWithItsSha256_AndIsIdempotent()
    {
        var directory = LocalHubSeeds.SeedMiniLm(_root.Path);
        var commit = _hub.CommitOf(LocalHubSeeds.MiniLmRepoId);
        var model = Path.Combine(directory, "onnx", "model.onnx");
        string sha256;
        await using (var file = File.OpenRead(model)) sha256 = Convert.ToHexStringLower(await SHA256.HashDataAsync(file));

        using var info = await Json($"api/models/{LocalHubSeeds.MiniLmRepoId}?blobs=true");
        var root = info.RootElement;
        Assert.Equal("sentence-similarity", root.GetProperty("pipeline_tag").GetString());
        Assert.Equal(0, root.GetProperty("downloads").GetInt32());
        Assert.Equal(384, root.GetProperty("config").GetProperty("hidden_size").GetInt32());
        var siblings = root.GetProperty("siblings").EnumerateArray().ToDictionary(s => s.GetProperty("rfilename").GetString()!);
        Assert.Equal([".gitattributes", "1_Pooling/config.json", "README.md", "config.json", "modules.json", "onnx/model.onnx",
            "sentence_bert_config.json", "special_tokens_map.json", "tokenizer_config.json", "vocab.txt"], siblings.Keys.Order(StringComparer.Ordinal));
        Assert.DoesNotContain(".hub.json", siblings.Keys);
        var lfs = siblings["onnx/model.onnx"].GetProperty("lfs");
        Assert.Equal(sha256, lfs.GetProperty("sha256").GetString());
        Assert.Equal(new FileInfo(model).Length, lfs.GetProperty("size").GetInt64());
        Assert.False(siblings["modules.json"].TryGetProperty("lfs", out _));

        using var search = await Json("api/models?search=minilm&filter=sentence-transformers");
        Assert.Equal([LocalHubSeeds.MiniLmRepoId], Ids(search));

        LocalHubSeeds.SeedMiniLm(_root.Path);
        Assert.Equal(commit, _hub.CommitOf(LocalHubSeeds.MiniLmRepoId));
    }

    private Task<Hub> StartAsync(string? token = null) =>
        Hub.StartAsync(new LocalHubOptions { Root = _root.Path, Token = token, LfsThresholdBytes = LfsThreshold });

    private void Write(string repo, string path, string text) => Write(repo, path, Encoding.UTF8.GetBytes(text));

    private void Write(string repo, string path, byte[] content)
    {
        var full = _root.Combine([.. repo.Split('/'), .. path.Split('/')]);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
    }

    private async Task<JsonDocument> Json(string path)
    {
        using var response = await _http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await Json(response);
    }

    private static async Task<JsonDocument> Json(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());

    /// <summary>One request, with a Range header when given; an LFS redirect is followed by hand (keeping the Range).</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? range = null, bool followLfs = false)
    {
        var response = await SendOnceAsync(method, new Uri(path, UriKind.RelativeOrAbsolute), range);
        if (!followLfs || response.StatusCode != HttpStatusCode.Found) return response;
        var location = response.Headers.Location!;
        response.Dispose();
        return await SendOnceAsync(method, location, range);
    }

    private async Task<HttpResponseMessage> SendOnceAsync(HttpMethod method, Uri uri, string? range)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (range is not null) request.Headers.TryAddWithoutValidation("Range", range);
        return await _http.SendAsync(request);
    }

    /// <summary>A GET whose path goes on the wire exactly as given; returns the status line.</summary>
    private async Task<string> RawGetAsync(string path)
    {
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync(_hub.Endpoint.Host, _hub.Endpoint.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {_hub.Endpoint.Authority}\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        return await reader.ReadLineAsync() ?? "";
    }

    private static string[] Ids(JsonDocument document) =>
        [.. document.RootElement.EnumerateArray().Select(m => m.GetProperty("id").GetString()!)];

    private static Uri? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values)) return null;
        var link = values.Single();
        Assert.EndsWith("rel=\"next\"", link);
        return new Uri(link[(link.IndexOf('<') + 1)..link.IndexOf('>')]);
    }

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : null;

    private static string? ErrorCode(HttpResponseMessage response) => Header(response, "X-Error-Code");

    private static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    [SuppressMessage("Security", "CA5350:Do Not Use Weak Cryptographic Algorithms", Justification = "Git names blobs by SHA-1.")]
    private static string GitBlobSha1(byte[] content) =>
        Convert.ToHexStringLower(SHA1.HashData([.. Encoding.ASCII.GetBytes($"blob {content.Length}\0"), .. content]));

    private static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
