using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ModelKit.LocalHub.Internal;

namespace ModelKit.LocalHub;

/// <summary>
/// A Hugging Face Hub-compatible server on 127.0.0.1 over a directory of models (<see cref="LocalHubOptions.Root"/>,
/// laid out as <c>{owner}/{name}/**</c> and read at request time): model search and info, file trees, resolve with LFS
/// redirects and byte ranges, with <see cref="Faults"/> to inject and <see cref="Counters"/> to assert on.
/// </summary>
public sealed class LocalHubServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RepositoryStore _store;
    private int _disposed;

    private LocalHubServer(WebApplication app, RepositoryStore store, LocalHubFaults faults, LocalHubCounters counters, Uri endpoint)
    {
        _app = app;
        _store = store;
        Faults = faults;
        Counters = counters;
        Endpoint = endpoint;
    }

    /// <summary>Where the hub listens, with a trailing slash, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri Endpoint { get; }

    /// <summary>The faults the hub injects; changeable while it runs.</summary>
    public LocalHubFaults Faults { get; }

    /// <summary>What the hub was asked for.</summary>
    public LocalHubCounters Counters { get; }

    /// <summary>Starts a hub on 127.0.0.1 at <see cref="LocalHubOptions.Port"/> (0: a free port).</summary>
    /// <exception cref="ArgumentException"><see cref="LocalHubOptions.Root"/> is empty or not a directory, or a value is out of range.</exception>
    public static async Task<LocalHubServer> StartAsync(LocalHubOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        var store = new RepositoryStore(options.Root, options.LfsThresholdBytes);
        var faults = new LocalHubFaults();
        var counters = new LocalHubCounters();
        var handler = new HubHandler(store, faults, counters, options.Token);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, options.Port);
        });
        builder.Services.AddSingleton<IHostLifetime, PassiveLifetime>();
        var app = builder.Build();
        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken);

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? throw new InvalidOperationException("Kestrel started without reporting the address it listens on.");
        return new LocalHubServer(app, store, faults, counters, new Uri(address.TrimEnd('/') + "/"));
    }

    /// <summary>The commit <paramref name="repoId"/> (<c>owner/name</c>) has now: 40 hex digits, changing whenever a file does.</summary>
    /// <exception cref="ArgumentException"><paramref name="repoId"/> is not <c>owner/name</c> of a repository under the root.</exception>
    public string CommitOf(string repoId)
    {
        ArgumentException.ThrowIfNullOrEmpty(repoId);
        var parts = repoId.Split('/');
        var repository = parts.Length == 2 ? _store.Open(parts[0], parts[1]) : null;
        return repository?.Commit ?? throw new ArgumentException(
            $"'{repoId}' is not a repository of the local hub: expected owner/name, a folder under '{_store.Root}'.", nameof(repoId));
    }

    /// <summary>Stops the hub; requests still running (a throttled download, say) are cut.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        using (var stop = new CancellationTokenSource())
        {
            await stop.CancelAsync();
            await _app.StopAsync(stop.Token);
        }

        await _app.DisposeAsync();
    }

    private static void Validate(LocalHubOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Root)) errors.Add("Root is required: the directory of {owner}/{name} repositories to serve.");
        else if (!Directory.Exists(options.Root)) errors.Add($"Root '{options.Root}' is not a directory.");
        if (options.Port is < 0 or > 65535) errors.Add($"Port must be 0 (any free port) to 65535, got {options.Port}.");
        if (options.LfsThresholdBytes < 1) errors.Add($"LfsThresholdBytes must be at least 1, got {options.LfsThresholdBytes}.");
        if (options.Token is { Length: 0 }) errors.Add("Token must be null (no authentication) or not empty.");
        if (errors.Count > 0) throw new ArgumentException("Invalid LocalHubOptions: " + string.Join(" ", errors), nameof(options));
    }
}
