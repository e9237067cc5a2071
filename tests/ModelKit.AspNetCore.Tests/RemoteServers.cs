using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ModelKit.Tests;

/// <summary>
/// The provider (a sample server on Kestrel serving its generated chat model), the front (a sample server on Kestrel
/// whose ModelKit:RemoteModels name the provider and three broken endpoints), a closed port and a silent listener.
/// </summary>
public sealed class RemoteServers : IAsyncLifetime
{
    public const string Remote = "remote-gettysburg";
    public const string Down = "remote-down";
    public const string Slow = "remote-slow";
    public const string WrongKey = "remote-wrong-key";
    public const string ProviderModel = "gpt2-gettysburg";
    public const string BadKey = "sk-wrong-key-for-the-provider";
    public const string RemoteRandom = "remote-random";
    public const string Drops = "remote-drops";
    public const string Stalls = "remote-stalls";
    public const string ProviderRandom = "random-gpt2";

    private readonly TcpListener _silent = new(IPAddress.Loopback, 0);
    private readonly TcpListener _misbehaving = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly TempDirectory _files = new();

    public KestrelSampleServerFactory Provider { get; } = new(serveMiniLm: false, serveChatModel: true);

    public FrontServer Front { get; private set; } = null!;

    public int DownPort { get; private set; }

    public async Task InitializeAsync()
    {
        await Provider.WaitUntilRunningAsync(Provider.CreateClient(), ProviderModel);
        var random = ModelKit.ModelGenerator.DecoderModels.WriteGpt2DecoderDirectory(_files.Path);
        await Provider.Services.GetRequiredService<ModelKit.Registry.IModelRegistry>().RegisterAsync(
            new ModelKit.Registry.ModelDefinition { Id = ProviderRandom, Name = "Random GPT-2", Task = "text-generation" },
            [.. ModelKit.ModelGenerator.DecoderModels.DirectoryFiles.Select(name => ModelKit.Registry.ArtifactSource.FromFile(name, Path.Combine(random, name)))]);

        // A port nothing listens on: bound, then released, so connections to it are refused.
        using (var closed = new TcpListener(IPAddress.Loopback, 0))
        {
            closed.Start();
            DownPort = ((IPEndPoint)closed.LocalEndpoint).Port;
            closed.Stop();
        }

        // A listener that accepts connections, reads nothing and never answers.
        _silent.Start();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var socket = await _silent.AcceptSocketAsync(_stop.Token);
                    lock (_held) _held.Add(socket);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }
            }
        });

        // A provider that answers 200 with one streamed chunk, then drops the connection (/drop) or goes silent (/stall).
        _misbehaving.Start();
        _ = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _misbehaving.AcceptSocketAsync(_stop.Token);
                }
                catch (Exception) when (_stop.IsCancellationRequested)
                {
                    return;
                }

                _ = Task.Run(() => MisbehaveAsync(socket));
            }
        });
        var misbehaving = $"http://127.0.0.1:{((IPEndPoint)_misbehaving.LocalEndpoint).Port}";

        var provider = new Uri(Provider.CreateClient().BaseAddress!, "/v1").ToString();
        Front = new FrontServer(new Dictionary<string, string?>
        {
            [$"ModelKit:RemoteModels:Models:{Remote}:Endpoint"] = provider,
            [$"ModelKit:RemoteModels:Models:{Remote}:ApiKey"] = SampleServerFactory.AdminKey,
            [$"ModelKit:RemoteModels:Models:{Remote}:Model"] = ProviderModel,
            [$"ModelKit:RemoteModels:Models:{Remote}:Provider"] = "modelkit",
            [$"ModelKit:RemoteModels:Models:{Remote}:Name"] = "Gettysburg, served by another ModelKit",
            [$"ModelKit:RemoteModels:Models:{Remote}:Description"] = "The second host's generated chat model.",
            [$"ModelKit:RemoteModels:Models:{RemoteRandom}:Endpoint"] = provider,
            [$"ModelKit:RemoteModels:Models:{RemoteRandom}:ApiKey"] = SampleServerFactory.AdminKey,
            [$"ModelKit:RemoteModels:Models:{RemoteRandom}:Model"] = ProviderRandom,
            [$"ModelKit:RemoteModels:Models:{Drops}:Endpoint"] = misbehaving + "/drop/v1",
            [$"ModelKit:RemoteModels:Models:{Drops}:MaxRetries"] = "0",
            [$"ModelKit:RemoteModels:Models:{Stalls}:Endpoint"] = misbehaving + "/stall/v1",
            [$"ModelKit:RemoteModels:Models:{Stalls}:Timeout"] = "00:00:03", // its first chunk must come in time even on a busy machine
            [$"ModelKit:RemoteModels:Models:{Down}:Endpoint"] = $"http://127.0.0.1:{DownPort}/v1",
            [$"ModelKit:RemoteModels:Models:{Down}:MaxRetries"] = "1",
            [$"ModelKit:RemoteModels:Models:{Slow}:Endpoint"] = $"http://127.0.0.1:{((IPEndPoint)_silent.LocalEndpoint).Port}/v1",
            [$"ModelKit:RemoteModels:Models:{Slow}:Timeout"] = "00:00:01",
            [$"ModelKit:RemoteModels:Models:{WrongKey}:Endpoint"] = provider,
            [$"ModelKit:RemoteModels:Models:{WrongKey}:ApiKey"] = BadKey,
            [$"ModelKit:RemoteModels:Models:{WrongKey}:Model"] = ProviderModel,
        });
        await Front.WaitUntilRunningAsync(Front.CreateClient(), "demo-mlp");
    }

    // Reads the request (headers, then Content-Length bytes), answers a 200 event stream with one chunk, then closes the
    // connection without ending the stream (/drop) or keeps it open saying nothing (/stall).
    private async Task MisbehaveAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: true);
        var received = new List<byte>();
        var buffer = new byte[8192];
        int headerEnd;
        while ((headerEnd = IndexOfBlankLine(received)) < 0)
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0) return;
            received.AddRange(buffer.AsSpan(0, read).ToArray());
        }

        var headers = Encoding.ASCII.GetString(received.ToArray(), 0, headerEnd);
        var length = int.Parse(headers.Split("\r\n").First(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        while (received.Count < headerEnd + 4 + length)
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0) return;
            received.AddRange(buffer.AsSpan(0, read).ToArray());
        }

        const string Chunk = """{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"misbehaving","choices":[{"index":0,"delta":{"role":"assistant","content":"Four"},"finish_reason":null}]}""";
        var answer = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\ndata: " + Chunk + "\n\n";
        await stream.WriteAsync(Encoding.UTF8.GetBytes(answer), _stop.Token);
        await stream.FlushAsync(_stop.Token);
        if (headers.StartsWith("POST /drop/", StringComparison.Ordinal))
        {
            socket.Close(); // mid-answer: the stream never ends with [DONE]
            return;
        }

        lock (_held) _held.Add(socket);
        await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private static int IndexOfBlankLine(List<byte> bytes)
    {
        for (var i = 0; i + 3 < bytes.Count; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n') return i;
        }

        return -1;
    }

    /// <summary>The sequences in the provider's decoding batches, from its Prometheus <c>/metrics</c> (all models together).</summary>
    public async Task<double> ProviderSequencesAsync()
    {
        var text = await Provider.CreateClient().GetStringAsync("/metrics");
        var total = 0.0;
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith("modelkit_generation_sequences", StringComparison.Ordinal)) continue;
            total += double.Parse(line[(line.LastIndexOf(' ') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        }

        return total;
    }

    /// <summary>Sends each request on one seed 003 socket of the front and returns every frame until each request's last.</summary>
    public async Task<List<JsonElement>> SocketAsync(params string[] requests)
    {
        using var socket = new ClientWebSocket();
        socket.Options.SetRequestHeader("X-API-Key", SampleServerFactory.AdminKey);
        var address = Front.CreateClient().BaseAddress!.ToString().Replace("http://", "ws://", StringComparison.Ordinal).TrimEnd('/');
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)); // a hang fails the test instead of blocking the run
        await socket.ConnectAsync(new Uri(address + "/inference/stream"), timeout.Token);
        foreach (var request in requests)
        {
            await socket.SendAsync(Encoding.UTF8.GetBytes(request), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
        }

        var frames = new List<JsonElement>();
        for (var open = requests.Length; open > 0;)
        {
            var frame = await InferenceApi.InferenceStreamSocketTests.ReceiveAsync(socket);
            frames.Add(frame);
            if (frame.GetProperty("type").GetString() is "done" or "error" or "cancelled") open--;
        }

        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        return frames;
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        _silent.Stop();
        _misbehaving.Stop();
        lock (_held)
        {
            foreach (var socket in _held) socket.Dispose();
        }

        Front?.Dispose();
        Provider.Dispose();
        _stop.Dispose();
        _files.Dispose();
    }

    /// <summary>The front: the sample server on Kestrel with the given settings (no local chat model).</summary>
    public sealed class FrontServer : SampleServerFactory
    {
        private readonly IReadOnlyDictionary<string, string?> _settings;

        public FrontServer(IReadOnlyDictionary<string, string?> settings)
        {
            _settings = settings;
            UseKestrel(0);
            StartServer();
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("urls", "http://127.0.0.1:0");
            foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        }
    }
}
