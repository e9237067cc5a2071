using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace ModelKit.Tests;

/// <summary>
/// The provider (a sample server on Kestrel serving its generated chat model), a provider that misbehaves on purpose
/// (<see cref="ScriptedProvider"/>), a port that refuses connections, and the front: a sample server on Kestrel whose
/// ModelKit:RemoteModels name them all.
/// </summary>
public sealed class RemoteServers : IAsyncLifetime
{
    public const string Remote = "remote-gettysburg";
    public const string Down = "remote-down";
    public const string Slow = "remote-slow";
    public const string WrongKey = "remote-wrong-key";
    public const string ProviderModel = "gpt2-gettysburg";
    public const string BadKey = "sk-wrong-key-for-the-provider";
    public const string ShortTimeout = "remote-short-timeout";
    public const string Endless = "remote-endless";
    public const string Split = "remote-split";
    public const string Limited = "remote-limited";
    public const string Leaky = "remote-leaky";
    public const string LeakyKey = "sk-leaky-key-never-to-be-seen";
    public const string Drops = "remote-drops";
    public const string Stalls = "remote-stalls";

    private readonly Socket _closed = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public KestrelSampleServerFactory Provider { get; } = new(serveMiniLm: false, serveChatModel: true);

    /// <summary>The provider that misbehaves on purpose (drops, stalls, streams forever, fails one choice).</summary>
    public ScriptedProvider Scripted { get; } = new();

    public FrontServer Front { get; private set; } = null!;

    public int DownPort { get; private set; }

    public async Task InitializeAsync()
    {
        await Provider.WaitUntilRunningAsync(Provider.CreateClient(), ProviderModel);
        // A port bound and never listened on, held for the fixture's life: connections to it are refused.
        _closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        DownPort = ((IPEndPoint)_closed.LocalEndPoint!).Port;

        var provider = new Uri(Provider.CreateClient().BaseAddress!, "/v1").ToString();
        Front = new FrontServer(new Dictionary<string, string?>
        {
            [$"ModelKit:RemoteModels:Models:{Remote}:Endpoint"] = provider,
            [$"ModelKit:RemoteModels:Models:{Remote}:ApiKey"] = SampleServerFactory.AdminKey,
            [$"ModelKit:RemoteModels:Models:{Remote}:Model"] = ProviderModel,
            [$"ModelKit:RemoteModels:Models:{Remote}:Provider"] = "modelkit",
            [$"ModelKit:RemoteModels:Models:{Remote}:Name"] = "Gettysburg, served by another ModelKit",
            [$"ModelKit:RemoteModels:Models:{Remote}:Description"] = "The second host's generated chat model.",
            [$"ModelKit:RemoteModels:Models:{ShortTimeout}:Endpoint"] = provider,
            [$"ModelKit:RemoteModels:Models:{ShortTimeout}:ApiKey"] = SampleServerFactory.AdminKey,
            [$"ModelKit:RemoteModels:Models:{ShortTimeout}:Model"] = ProviderModel,
            [$"ModelKit:RemoteModels:Models:{ShortTimeout}:Timeout"] = "00:00:01",
            [$"ModelKit:RemoteModels:Models:{Endless}:Endpoint"] = Scripted.Address + "/endless/v1",
            [$"ModelKit:RemoteModels:Models:{Split}:Endpoint"] = Scripted.Address + "/split/v1",
            [$"ModelKit:RemoteModels:Models:{Split}:MaxRetries"] = "0",
            [$"ModelKit:RemoteModels:Models:{Split}:Timeout"] = "00:01:00",
            [$"ModelKit:RemoteModels:Models:{Remote}:ContextLength"] = "1024",
            [$"ModelKit:RemoteModels:Models:{Limited}:Endpoint"] = Scripted.Address + "/limit/v1",
            [$"ModelKit:RemoteModels:Models:{Leaky}:Endpoint"] = Scripted.Address + "/leak/v1",
            [$"ModelKit:RemoteModels:Models:{Leaky}:ApiKey"] = LeakyKey,
            [$"ModelKit:RemoteModels:Models:{Drops}:Endpoint"] = Scripted.Address + "/drop/v1",
            [$"ModelKit:RemoteModels:Models:{Drops}:MaxRetries"] = "0",
            [$"ModelKit:RemoteModels:Models:{Stalls}:Endpoint"] = Scripted.Address + "/stall/v1",
            [$"ModelKit:RemoteModels:Models:{Stalls}:Timeout"] = "00:00:03", // its first chunk must come in time even on a busy machine
            [$"ModelKit:RemoteModels:Models:{Down}:Endpoint"] = $"http://127.0.0.1:{DownPort}/v1",
            [$"ModelKit:RemoteModels:Models:{Down}:MaxRetries"] = "1",
            [$"ModelKit:RemoteModels:Models:{Slow}:Endpoint"] = Scripted.Address + "/silent/v1",
            [$"ModelKit:RemoteModels:Models:{Slow}:Timeout"] = "00:00:01",
            [$"ModelKit:RemoteModels:Models:{WrongKey}:Endpoint"] = provider,
            [$"ModelKit:RemoteModels:Models:{WrongKey}:ApiKey"] = BadKey,
            [$"ModelKit:RemoteModels:Models:{WrongKey}:Model"] = ProviderModel,
        });
        await Front.WaitUntilRunningAsync(Front.CreateClient(), "demo-mlp");
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

    public Task DisposeAsync()
    {
        Front?.Dispose();
        Provider.Dispose();
        Scripted.Dispose();
        _closed.Dispose();
        return Task.CompletedTask;
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
