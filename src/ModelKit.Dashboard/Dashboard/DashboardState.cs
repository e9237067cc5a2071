using System.Text.Json;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.Dashboard.Components;

namespace ModelKit.Dashboard;

/// <summary>
/// The latest snapshot and its panels as rendered, shared by every open page. A snapshot older than half the refresh
/// interval is read again by one background read, whatever the number of viewers; a caller waits for that read a
/// moment (<see cref="ReadWait"/>) and otherwise takes the snapshot before it, so a slow read (a registry timeout) does
/// not hold any page's refresh. Only the very first snapshot is waited for. The panels are rendered once per snapshot
/// for readers and once for managers (the only difference between viewers), not once per open page.
/// </summary>
internal sealed class DashboardState : IDisposable
{
    /// <summary>How long a caller waits for a read it started (or found running) before it takes the older snapshot.</summary>
    private static readonly TimeSpan ReadWait = TimeSpan.FromMilliseconds(250);

    private readonly IServiceProvider _services;
    private readonly IOptions<ModelKitDashboardOptions> _options;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenRegistration _onStopping;
    private readonly Lock _lock = new();
    private DashboardSnapshot? _latest;
    private Task<DashboardSnapshot?>? _reading;
    private DateTimeOffset _lastRead = DateTimeOffset.MinValue; // when the last read started, whether it worked or not
    // The panels as stream events ({"panel", "html"} JSON) for the latest snapshot rendered: [0] for readers, [1] for managers.
    private readonly (DashboardSnapshot Snapshot, Task<IReadOnlyList<(string Panel, string Event)>> Events)?[] _rendered = new (DashboardSnapshot, Task<IReadOnlyList<(string, string)>>)?[2];

    public DashboardState(IServiceProvider services, IOptions<ModelKitDashboardOptions> options, ILoggerFactory loggers)
    {
        _services = services;
        _options = options;
        _loggers = loggers;
        _logger = loggers.CreateLogger("ModelKit.Dashboard");
        if (services.GetService<IHostApplicationLifetime>() is { } lifetime) _onStopping = lifetime.ApplicationStopping.Register(_stopping.Cancel);
    }

    public async Task<DashboardSnapshot> GetAsync(CancellationToken cancellationToken)
    {
        DashboardSnapshot? latest;
        Task<DashboardSnapshot?> reading;
        lock (_lock)
        {
            latest = _latest;
            var now = DateTimeOffset.UtcNow;
            var fresh = _options.Value.RefreshInterval / 2;
            if (latest is not null && now - latest.At < fresh) return latest;
            if (_reading is null)
            {
                // A read that failed is not tried again within the same half interval, however many viewers ask.
                if (now - _lastRead < fresh) return latest ?? throw Unreadable();
                _lastRead = now;
                _reading = Start(ReadAsync);
            }

            reading = _reading;
        }

        if (latest is null) return await reading.WaitAsync(cancellationToken).ConfigureAwait(false) ?? throw Unreadable();

        try
        {
            return await reading.WaitAsync(ReadWait, cancellationToken).ConfigureAwait(false) ?? latest;
        }
        catch (TimeoutException)
        {
            return latest; // still reading: the page shows the snapshot before, and the next refresh the new one
        }
    }

    /// <summary>
    /// The panels of the current snapshot as the live stream's events, rendered for a viewer who may manage or not; every
    /// viewer of the same kind gets the same strings.
    /// </summary>
    public async Task<IReadOnlyList<(string Panel, string Event)>> PanelEventsAsync(bool canManage, CancellationToken cancellationToken)
    {
        var snapshot = await GetAsync(cancellationToken).ConfigureAwait(false);
        Task<IReadOnlyList<(string, string)>> events;
        lock (_lock)
        {
            var kind = canManage ? 1 : 0;
            // A caller holding an older snapshot (it waited less) takes the newer rendering rather than replacing it; a
            // rendering that failed is tried again.
            if (_rendered[kind] is not { } rendered || rendered.Snapshot.At < snapshot.At || rendered.Events.IsFaulted)
            {
                rendered = (snapshot, Start(() => RenderAsync(snapshot, canManage)));
                _rendered[kind] = rendered;
            }

            events = rendered.Events;
        }

        return await events.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private static InvalidOperationException Unreadable() => new("The dashboard could not read the server's state; the server's log says why.");

    // Shared work runs on the thread pool without the request's context that happened to start it (its activity, log
    // scope and HttpContext), and is cancelled only when the app stops, not when that viewer leaves.
    private static Task<T> Start<T>(Func<Task<T>> work)
    {
        using (ExecutionContext.SuppressFlow()) return Task.Run(work);
    }

    // One read at a time. It never throws: a failure is logged and leaves the snapshot before in place (null before the first).
    private async Task<DashboardSnapshot?> ReadAsync()
    {
        DashboardSnapshot? result;
        try
        {
            result = await DashboardSnapshot.ReadAsync(_services, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException && _stopping.IsCancellationRequested)
        {
            result = null; // the app is stopping
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            DashboardLog.RefreshFailed(_logger, ex);
            result = null;
        }

        lock (_lock)
        {
            _reading = null;
            return _latest = result ?? _latest;
        }
    }

    private async Task<IReadOnlyList<(string, string)>> RenderAsync(DashboardSnapshot snapshot, bool canManage)
    {
        // The panels show what the viewer may do, not who they are.
        var user = new DashboardUser(canManage ? "manager" : "reader", canManage);
        // A scope of its own, as a request's renderer has (a host's components may need scoped services).
        await using var scope = _services.CreateAsyncScope();
        await using var renderer = new HtmlRenderer(scope.ServiceProvider, _loggers);
        var events = new List<(string, string)>(Panels.All.Length);
        foreach (var (panel, _) in Panels.All)
        {
            var html = await DashboardEndpoints.RenderOnAsync<PanelBody>(renderer, new DashboardView(string.Empty, snapshot, user, panel)).ConfigureAwait(false);
            events.Add((panel, JsonSerializer.Serialize(new PanelEvent(panel, html), DashboardJson.Default.PanelEvent)));
        }

        return events;
    }

    public void Dispose()
    {
        _onStopping.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
    }
}
