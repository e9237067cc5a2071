using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Downloads;
using ModelKit.LocalHub;

namespace ModelKit.Tests.Downloads;

/// <summary>The hub client against the local hub over real sockets: model info, files and ranges, errors, timeouts, the token, and DI.</summary>
public sealed class HuggingFaceHubTests : IAsyncLifetime
{
    private const string Repo = DownloadTestBed.Repo;
    private DownloadTestBed _bed = null!;
    private readonly HttpClient _api = new();
    private readonly HttpClient _files = new(new SocketsHttpHandler { AllowAutoRedirect = false });

    public async Task InitializeAsync()
    {
        _bed = await DownloadTestBed.StartAsync();
        _bed.SeedMlpRepo();
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        _files.Dispose();
        await _bed.DisposeAsync();
    }

    private HuggingFaceHub CreateHub(string? token = null) => new(_api, _files, new HubOptions { Endpoint = _bed.Hub.Endpoint, Token = token });

    [Fact]
    public async Task GetModelAsync_PinsTheCommitAndPublishesHashes()
    {
        var model = await CreateHub().GetModelAsync(Repo);

        Assert.Equal(Repo, model.Id);
        Assert.Equal(_bed.Hub.CommitOf(Repo), model.Sha);
        Assert.Equal("feature-extraction", model.PipelineTag);
        var onnx = Assert.Single(model.Files, f => f.Path == "model.onnx");
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read(Repo, "model.onnx")), onnx.Sha256); // an LFS file: its sha256
        var vocab = Assert.Single(model.Files, f => f.Path == "vocab.txt");
        Assert.Null(vocab.Sha256); // a plain file: its git blob id
        Assert.Equal(40, vocab.BlobId?.Length);
        Assert.Equal(_bed.Read(Repo, "vocab.txt").Length, vocab.Size);
    }

    [Fact]
    public async Task OpenFileAsync_FromAnOffset_ReturnsTheRestAndTheWholeLength()
    {
        var hub = CreateHub();
        var commit = _bed.Hub.CommitOf(Repo);
        var expected = _bed.Read(Repo, "model.onnx");

        await using var content = await hub.OpenFileAsync(Repo, commit, "model.onnx", 1000);
        using var buffer = new MemoryStream();
        await content.Content.CopyToAsync(buffer);

        Assert.Equal(1000, content.Offset);
        Assert.Equal(expected.Length, content.TotalLength);
        Assert.Equal(expected.AsSpan(1000).ToArray(), buffer.ToArray());
        Assert.Contains(_bed.Hub.Counters.RangeRequests, r => r.Path.StartsWith("/_lfs/", StringComparison.Ordinal) && r.Range == "bytes=1000-");
    }

    [Fact]
    public async Task OpenFileAsync_AtTheEnd_ReturnsNothingMore()
    {
        var size = _bed.Read(Repo, "vocab.txt").Length;

        await using var content = await CreateHub().OpenFileAsync(Repo, "main", "vocab.txt", size);

        Assert.Equal(size, content.Offset);
        Assert.Equal(size, content.TotalLength);
        Assert.Equal(-1, content.Content.ReadByte());
    }

    [Fact]
    public async Task OpenFileAsync_UnknownFileOrRepo_ThrowsModelNotFound()
    {
        var hub = CreateHub();

        var file = await Assert.ThrowsAsync<ModelNotFoundException>(() => hub.OpenFileAsync(Repo, "main", "missing.onnx", 0));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => hub.OpenFileAsync("acme/none", "main", "model.onnx", 0));

        Assert.Contains("missing.onnx", file.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a b/c")]
    [InlineData("org/name/extra")]
    public async Task GetModelAsync_InvalidRepoId_ThrowsInvalidInputWithoutAsking(string repoId)
    {
        await Assert.ThrowsAsync<InvalidInputException>(() => CreateHub().GetModelAsync(repoId));

        Assert.Equal(0, _bed.Hub.Counters.Requests);
    }

    [Fact]
    public async Task Hub_WithToken_SendsItToTheHubButNotToARedirectOnAnotherHost()
    {
        await _bed.RestartHubAsync("hf_secret");
        var recorder = new RecordingHandler(new SocketsHttpHandler { AllowAutoRedirect = false }, "127.0.0.1", "localhost");
        using var files = new HttpClient(recorder);
        var hub = new HuggingFaceHub(_api, files, new HubOptions { Endpoint = _bed.Hub.Endpoint, Token = "hf_secret" });

        await using (var content = await hub.OpenFileAsync(Repo, "main", "model.onnx", 0))
        {
            using var buffer = new MemoryStream();
            await content.Content.CopyToAsync(buffer);
            Assert.Equal(DownloadTestBed.Sha256(_bed.Read(Repo, "model.onnx")), DownloadTestBed.Sha256(buffer.ToArray()));
        }

        Assert.Equal(2, recorder.Requests.Count);
        Assert.Equal(("127.0.0.1", "Bearer hf_secret"), (recorder.Requests[0].Host, recorder.Requests[0].Authorization));
        Assert.Equal(("localhost", (string?)null), (recorder.Requests[1].Host, recorder.Requests[1].Authorization));
    }

    [Fact]
    public async Task Download_HubWithToken_CompletesWithTheTokenAndIsNotFoundWithout()
    {
        await _bed.RestartHubAsync("hf_secret");
        var withToken = _bed.CreateManager(hubOptions: new HubOptions { Endpoint = _bed.Hub.Endpoint, Token = "hf_secret" });
        var without = _bed.CreateManager(hubOptions: new HubOptions { Endpoint = _bed.Hub.Endpoint });

        await Assert.ThrowsAsync<ModelNotFoundException>(() => without.StartAsync(new DownloadRequest { Source = "huggingface", ModelId = Repo }));
        var started = await withToken.StartAsync(new DownloadRequest { Source = "huggingface", ModelId = Repo });
        var done = await DownloadTestBed.CompleteAsync(withToken, started.Id);

        Assert.Equal(DownloadStatus.Completed, done.Status);
        Assert.NotNull(await _bed.Registry.FindModelAsync(Repo));
    }

    [Fact]
    public async Task AddModelKit_HubSlowerThanRequestTimeout_ThrowsSourceUnavailable()
    {
        await using var provider = Services(hub => hub.RequestTimeout = TimeSpan.FromSeconds(1));
        var hub = provider.GetRequiredService<IModelHub>();
        _bed.Hub.Faults.Delay = TimeSpan.FromSeconds(5);

        var error = await Assert.ThrowsAsync<SourceUnavailableException>(() => hub.GetModelAsync(Repo));

        Assert.Contains("in time", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddModelKit_HubAnswers503Once_TheApiClientRetries()
    {
        await using var provider = Services();
        var hub = provider.GetRequiredService<IModelHub>();
        _bed.Hub.Faults.FailNextRequests = 1;

        var model = await hub.GetModelAsync(Repo);

        Assert.Equal(Repo, model.Id);
        Assert.Equal(1, _bed.Hub.Counters.FailedByFault);
    }

    [Fact]
    public async Task AddModelKit_WithOnnxRuntime_DownloadsTheRealMiniLmAndRegistersIt()
    {
        LocalHubSeeds.SeedMiniLm(_bed.HubRoot);
        await using var provider = Services();
        var manager = provider.GetRequiredService<IDownloadManager>();
        const string miniLm = "sentence-transformers/all-MiniLM-L6-v2";

        var started = await manager.StartAsync(new DownloadRequest { Source = "huggingface", ModelId = miniLm, RegisterAs = "minilm" });
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Contains(done.Files, f => f.Name == "onnx/model.onnx");
        Assert.Contains(done.Files, f => f.Name == "vocab.txt");
        Assert.Contains(done.Files, f => f.Name == "1_Pooling/config.json");
        Assert.DoesNotContain(done.Files, f => f.Name.EndsWith(".md", StringComparison.Ordinal) || f.Name == ".gitattributes");
        var model = await provider.GetRequiredService<ModelKit.Registry.IModelRegistry>().GetModelAsync("minilm");
        Assert.Equal(_bed.Hub.CommitOf(miniLm), model.Metadata["source_revision"]);
        var version = Assert.Single(model.Versions);
        Assert.Contains(version.Signature!.Inputs, i => i.Name == "input_ids");
        Assert.Equal(DownloadTestBed.Sha256(_bed.Read(miniLm, "onnx/model.onnx")), Assert.Single(version.Files, f => f.Name == "onnx/model.onnx").Sha256);
    }

    [Fact]
    public async Task AddModelKit_InvalidDownloadAndHubOptions_ReportsEveryField()
    {
        var services = new ServiceCollection();
        services.AddModelKit(o => o.DataDirectory = Path.Combine(_bed.Root, "di-data"));
        services.Configure<DownloadOptions>(o =>
        {
            o.MaxConcurrentDownloads = 0;
            o.RetryDelay = TimeSpan.Zero;
            o.LocalRoots = ["relative/path"];
        });
        services.Configure<HubOptions>(o => o.RequestTimeout = TimeSpan.FromHours(1));
        await using var provider = services.BuildServiceProvider();

        var downloads = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<DownloadOptions>>().Value);
        var hub = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<HubOptions>>().Value);

        Assert.Contains(downloads.Failures, f => f.Contains("MaxConcurrentDownloads", StringComparison.Ordinal));
        Assert.Contains(downloads.Failures, f => f.Contains("RetryDelay", StringComparison.Ordinal));
        Assert.Contains(downloads.Failures, f => f.Contains("LocalRoots:0", StringComparison.Ordinal));
        Assert.Contains(hub.Failures, f => f.Contains("RequestTimeout", StringComparison.Ordinal));
    }

    private ServiceProvider Services(Action<HubOptions>? hub = null)
    {
        var services = new ServiceCollection();
        services.AddModelKit(o => o.DataDirectory = Path.Combine(_bed.Root, "di-data")).AddOnnxRuntime();
        services.Configure<HubOptions>(o =>
        {
            o.Endpoint = _bed.Hub.Endpoint;
            hub?.Invoke(o);
        });
        services.Configure<DownloadOptions>(o =>
        {
            o.RetryDelay = TimeSpan.FromMilliseconds(10);
            o.StallTimeout = TimeSpan.FromSeconds(2);
            o.ReservedFreeBytes = 0;
        });
        return services.BuildServiceProvider();
    }

    /// <summary>Records each request's host and Authorization, and moves redirects from one host name to another (same server).</summary>
    private sealed class RecordingHandler(HttpMessageHandler inner, string from, string to) : DelegatingHandler(inner)
    {
        public List<(string Host, string? Authorization)> Requests { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            lock (Requests) Requests.Add((request.RequestUri!.Host, request.Headers.Authorization?.ToString()));
            var response = await base.SendAsync(request, cancellationToken);
            if (response.Headers.Location is { IsAbsoluteUri: true } location && location.Host == from)
            {
                response.Headers.Location = new UriBuilder(location) { Host = to }.Uri;
            }

            return response;
        }
    }
}

/// <summary>HF_ENDPOINT and HF_TOKEN: process-wide, so these run alone.</summary>
[CollectionDefinition(nameof(HubEnvironmentTests), DisableParallelization = true)]
public sealed class HubEnvironmentCollection;

[Collection(nameof(HubEnvironmentTests))]
public sealed class HubEnvironmentTests : IAsyncLifetime
{
    private static readonly string[] Variables = ["HF_ENDPOINT", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"];
    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);
    private DownloadTestBed _bed = null!;

    public async Task InitializeAsync()
    {
        _bed = await DownloadTestBed.StartAsync(token: "hf_from_env");
        _bed.SeedMlpRepo();
        foreach (var variable in Variables) Environment.SetEnvironmentVariable(variable, null);
    }

    public async Task DisposeAsync()
    {
        foreach (var (variable, value) in _saved) Environment.SetEnvironmentVariable(variable, value);
        await _bed.DisposeAsync();
    }

    [Fact]
    public void ResolveEndpoint_Unset_IsThePublicHubElseHfEndpointWithATrailingSlash()
    {
        Assert.Equal(HubOptions.PublicHub, new HubOptions().ResolveEndpoint());

        Environment.SetEnvironmentVariable("HF_ENDPOINT", "http://mirror.example:8080/hf");

        Assert.Equal(new Uri("http://mirror.example:8080/hf/"), new HubOptions().ResolveEndpoint());
        Assert.Equal(new Uri("http://set.example/"), new HubOptions { Endpoint = new Uri("http://set.example") }.ResolveEndpoint());
    }

    [Fact]
    public void ResolveToken_PrefersTheOptionThenHfTokenThenTheLegacyName()
    {
        Assert.Null(new HubOptions().ResolveToken());
        Environment.SetEnvironmentVariable("HUGGING_FACE_HUB_TOKEN", "legacy");
        Assert.Equal("legacy", new HubOptions().ResolveToken());
        Environment.SetEnvironmentVariable("HF_TOKEN", "current");
        Assert.Equal("current", new HubOptions().ResolveToken());
        Assert.Equal("option", new HubOptions { Token = "option" }.ResolveToken());
    }

    [Fact]
    public async Task Download_EndpointAndTokenFromTheEnvironment_Completes()
    {
        Environment.SetEnvironmentVariable("HF_ENDPOINT", _bed.Hub.Endpoint.AbsoluteUri);
        Environment.SetEnvironmentVariable("HF_TOKEN", "hf_from_env");
        var manager = _bed.CreateManager(hubOptions: new HubOptions());

        var started = await manager.StartAsync(new DownloadRequest { Source = "huggingface", ModelId = DownloadTestBed.Repo });
        var done = await DownloadTestBed.CompleteAsync(manager, started.Id);

        Assert.Equal(DownloadStatus.Completed, done.Status);
        Assert.Equal(_bed.Hub.CommitOf(DownloadTestBed.Repo), done.Revision);
    }
}
