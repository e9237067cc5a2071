using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using ModelKit.Downloads;
using ModelKit.LocalHub;
using ModelKit.ModelGenerator;
using ModelKit.Onnx;
using ModelKit.Registry;

namespace ModelKit.Tests.Downloads;

/// <summary>
/// What the download tests share: a temp directory, a <see cref="LocalHubServer"/> on 127.0.0.1 over a folder of
/// repositories, a real registry with the ONNX Runtime backend, and download managers built without DI.
/// </summary>
internal sealed class DownloadTestBed : IAsyncDisposable
{
    public const string Repo = "acme/mlp";

    /// <summary>A bounded wait for anything a test awaits: generous, never asserted on.</summary>
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly TempDirectory _dir;
    private readonly List<DownloadManager> _managers = [];
    private readonly List<HttpClient> _clients = [];

    private DownloadTestBed(TempDirectory dir, LocalHubServer hub, string hubRoot, string dataDirectory)
    {
        _dir = dir;
        Hub = hub;
        HubRoot = hubRoot;
        DataDirectory = dataDirectory;
        Registry = new ModelRegistry(Options.Create(new ModelKitOptions { DataDirectory = dataDirectory }), [new OnnxBackend(Options.Create(new OnnxRuntimeOptions()))]);
    }

    public LocalHubServer Hub { get; private set; }

    public string HubRoot { get; }

    public string DataDirectory { get; }

    public string Root => _dir.Path;

    public ModelRegistry Registry { get; }

    public string StagingRoot => Path.Combine(DataDirectory, "downloads");

    public static async Task<DownloadTestBed> StartAsync(string? token = null)
    {
        var dir = new TempDirectory();
        var hubRoot = dir.Combine("hub");
        Directory.CreateDirectory(hubRoot);
        var hub = await LocalHubServer.StartAsync(new LocalHubOptions { Root = hubRoot, Token = token });
        return new DownloadTestBed(dir, hub, hubRoot, dir.Combine("data"));
    }

    /// <summary>Writes a file into a repository of the hub.</summary>
    public void Write(string repo, string path, byte[] content)
    {
        var full = Path.Combine(HubRoot, repo, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
    }

    public void Write(string repo, string path, string content) => Write(repo, path, Encoding.UTF8.GetBytes(content));

    public byte[] Read(string repo, string path) => File.ReadAllBytes(Path.Combine(HubRoot, repo, path));

    /// <summary>
    /// A repository as hubs hold an ONNX export: <c>model.onnx</c> (a generated MLP, <paramref name="hidden"/> wide), its
    /// tokenizer and configuration, a README and an fp16 variant under <c>onnx/</c>.
    /// </summary>
    public void SeedMlpRepo(string repo = Repo, int hidden = 256, int vocabularyLines = 2000)
    {
        Write(repo, "model.onnx", DemoModels.CreateMlp(new MlpSpec { Hidden = hidden }));
        Write(repo, "vocab.txt", string.Join('\n', ((string[])["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]).Concat(Enumerable.Range(0, vocabularyLines).Select(i => "token" + i))));
        Write(repo, "config.json", """{"model_type": "mlp", "hidden_size": 256}""");
        Write(repo, "README.md", "# An MLP\nA generated model for tests.");
        Write(repo, "onnx/model_fp16.onnx", DemoModels.CreateMlp(new MlpSpec { Hidden = 32, Seed = 3 }));
        Write(repo, ".hub.json", """{"tags": ["onnx", "test"], "pipeline_tag": "feature-extraction"}""");
    }

    public static string Sha256(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    public DownloadManager CreateManager(Action<DownloadOptions>? configure = null, HubOptions? hubOptions = null, IEnumerable<IModelSource>? extraSources = null)
    {
        var options = TestOptions(configure);
        var api = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var files = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
        var url = new HttpClient(UrlSource.CreateHandler(options)) { Timeout = Timeout.InfiniteTimeSpan };
        _clients.AddRange([api, files, url]);
        var hub = new HuggingFaceHub(api, files, hubOptions ?? new HubOptions { Endpoint = Hub.Endpoint });
        IModelSource[] sources = [new HuggingFaceSource(hub), new UrlSource(url, Microsoft.Extensions.Options.Options.Create(options)), new FileSource(Microsoft.Extensions.Options.Options.Create(options)), .. extraSources ?? []];
        var manager = new DownloadManager(sources, Registry, options, new ModelKitOptions { DataDirectory = DataDirectory });
        _managers.Add(manager);
        return manager;
    }

    /// <summary>Test settings: quick retries, a short stall timeout, frequent progress.</summary>
    public static DownloadOptions TestOptions(Action<DownloadOptions>? configure = null)
    {
        var options = new DownloadOptions
        {
            RetryDelay = TimeSpan.FromMilliseconds(10),
            StallTimeout = TimeSpan.FromSeconds(2),
            ProgressInterval = TimeSpan.FromMilliseconds(50),
            ReservedFreeBytes = 0,
        };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>Waits (bounded) until the task is in <paramref name="status"/>, watching its events.</summary>
    public static async Task<DownloadTaskInfo> WaitForStatusAsync(IDownloadManager manager, string taskId, DownloadStatus status)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await foreach (var e in manager.WatchAsync(taskId, timeout.Token))
        {
            if (e.Task.Status == status) return e.Task;
        }

        return await manager.GetAsync(taskId);
    }

    /// <summary>Waits (bounded) until the task has received at least <paramref name="bytes"/> bytes while downloading.</summary>
    public static async Task<DownloadTaskInfo> WaitForBytesAsync(IDownloadManager manager, string taskId, long bytes)
    {
        using var timeout = new CancellationTokenSource(Patience);
        await foreach (var e in manager.WatchAsync(taskId, timeout.Token))
        {
            if (e.Task.Status == DownloadStatus.Downloading && e.Task.BytesDownloaded >= bytes) return e.Task;
        }

        throw new InvalidOperationException($"Download '{taskId}' ended before it had {bytes} bytes.");
    }

    public static async Task<DownloadTaskInfo> CompleteAsync(IDownloadManager manager, string taskId)
    {
        using var timeout = new CancellationTokenSource(Patience);
        return await manager.WaitForCompletionAsync(taskId, timeout.Token);
    }

    /// <summary>Replaces the hub (stopped and restarted on the same root, e.g. with a token).</summary>
    public async Task RestartHubAsync(string? token)
    {
        await Hub.DisposeAsync();
        Hub = await LocalHubServer.StartAsync(new LocalHubOptions { Root = HubRoot, Token = token });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var manager in _managers) await manager.DisposeAsync();
        await Hub.DisposeAsync();
        foreach (var client in _clients) client.Dispose();
        _dir.Dispose();
    }
}
