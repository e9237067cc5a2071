using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.Deployments;
using ModelKit.Registry;
using ModelKit.Serving;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// The deployment manager of a node in a cluster: the seed APIs on every node see and manage every deployment of the
/// cluster. A deployment runs on one node (its replicas share that node's cache and batch queues); a new one goes to the
/// node the <see cref="DeploymentDirectoryGrain"/> chooses (the most free cache memory), and any operation on it, from any
/// node, is carried out there. Reads come from this node's own deployments and from what the other nodes reported at the
/// last sync (every <see cref="ModelKitClusterOptions.DeploymentSyncInterval"/>), updated at once by this node's own
/// operations. When the directory cannot be asked, a new deployment is refused (REGISTRY_UNAVAILABLE, try again), not
/// created here: another node may be deploying the same model.
/// </summary>
internal sealed partial class ClusterDeploymentManager : IDeploymentManager, ILifecycleParticipant<ISiloLifecycle>, IAsyncDisposable
{
    private readonly DeploymentManager _local;
    private readonly IGrainFactory _grains;
    private readonly ILocalSiloDetails _silo;
    private readonly ModelRouter _router;
    private readonly ModelKitClusterOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly RemoteDeployments _remote;
    private readonly ClusterDeploymentStore _store;
    private Task? _sync;
    private int _stopped;
    private int _disposed;
    private string? _self;

    public ClusterDeploymentManager(
        DeploymentManager local, RemoteDeployments remote, ClusterDeploymentStore store, IGrainFactory grains, ILocalSiloDetails silo, ModelRouter router, IOptions<ModelKitClusterOptions> options,
        ILogger<ClusterDeploymentManager>? logger = null)
    {
        _local = local;
        _remote = remote;
        _store = store;
        _grains = grains;
        _silo = silo;
        _router = router;
        _options = options.Value;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    private string Self => _self ??= _silo.SiloAddress.ToParsableString();

    private IDeploymentDirectoryGrain Directory => _grains.GetGrain<IDeploymentDirectoryGrain>(IDeploymentDirectoryGrain.ClusterKey);

    public async Task<DeploymentInfo> DeployAsync(DeploymentSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (string.IsNullOrWhiteSpace(spec.ModelId)) return await _local.DeployAsync(spec, cancellationToken).ConfigureAwait(false); // its error
        spec = spec with { DeploymentId = spec.DeploymentId ?? "dep-" + Guid.NewGuid().ToString("N")[..12] };
        var id = spec.DeploymentId;
        var size = spec.MemoryRequestBytes ?? await SizeOfAsync(spec, cancellationToken).ConfigureAwait(false);
        var exclude = new List<string>();
        for (var attempt = 0; ; attempt++)
        {
            DeploymentReservation reservation;
            try
            {
                reservation = await Directory.ReserveAsync(id, spec.ModelId, size, [.. exclude], Self)
                    .WaitAsync(_options.PlacementTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
            {
                // Not created here regardless: without the directory, another node may be deploying the same model. A
                // reservation the directory made after all is let go, so that a retry is not refused as a conflict: in the
                // background, as the directory is not answering now and the caller need not wait for it twice.
                LogDirectoryUnavailable(_logger, id, ex.Message);
                _ = ReleaseAsync(id);
                throw new RegistryUnavailableException(
                    $"The cluster cannot say now where deployment '{id}' should run (its deployment directory did not answer); nothing was created. Try again shortly.",
                    TimeSpan.FromSeconds(5), ex);
            }

            if (reservation.ErrorCode is { } code) throw ForwardedError.From(code, reservation.ErrorMessage ?? code, null);
            var node = reservation.Node ?? Self;
            try
            {
                if (node != Self) return await RemoteAsync(node, new DeploymentCommand(DeploymentCommandKind.Deploy, id) { Spec = spec }, cancellationToken).ConfigureAwait(false);
                var info = await _local.DeployAsync(spec, cancellationToken).ConfigureAwait(false);
                await FlushAsync(cancellationToken).ConfigureAwait(false);
                return info;
            }
            catch (Exception ex) when (ForwardedServedModel.IsNodeFailure(ex))
            {
                // The chosen node is gone: choose again without it, twice; then the cluster is in no state to take it.
                LogNodeFailed(_logger, id, node, ex.Message);
                exclude.Add(node);
                await ReleaseAsync(id).ConfigureAwait(false);
                if (attempt >= 2)
                {
                    throw new RegistryUnavailableException(
                        $"No node of the cluster could take deployment '{id}' now (the nodes chosen left); nothing was created. Try again shortly.", TimeSpan.FromSeconds(5), ex);
                }
            }
            catch
            {
                await ReleaseAsync(id).ConfigureAwait(false);
                throw;
            }
        }
    }

    public Task<DeploymentInfo> WaitUntilRunningAsync(string deploymentId, CancellationToken cancellationToken = default) =>
        RunAsync(deploymentId, DeploymentCommandKind.WaitUntilRunning, m => m.WaitUntilRunningAsync(deploymentId, cancellationToken), cancellationToken);

    public DeploymentInfo GetDeployment(string deploymentId) =>
        FindDeployment(deploymentId) ?? _local.GetDeployment(deploymentId); // the local manager's DEPLOYMENT_NOT_FOUND

    public DeploymentInfo? FindDeployment(string deploymentId) =>
        _local.FindDeployment(deploymentId) ?? Elsewhere(deploymentId)?.Info;

    public DeploymentInfo? FindByModel(string modelId) => _local.FindByModel(modelId) ?? _remote.FindActive(modelId);

    public IReadOnlyList<DeploymentInfo> ListDeployments(DeploymentState? state = null)
    {
        var local = _local.ListDeployments(state);
        var ids = local.Select(d => d.DeploymentId).ToHashSet(StringComparer.Ordinal);
        return [.. local.Concat(_remote.ById.Values.Select(e => e.Info).Where(d => !ids.Contains(d.DeploymentId) && (state is null || d.State == state)))
            .OrderBy(d => d.CreatedAt).ThenBy(d => d.DeploymentId, StringComparer.Ordinal)];
    }

    public IReadOnlyList<DeploymentLogEntry> GetLogs(string deploymentId, int lines = 100) =>
        _local.FindDeployment(deploymentId) is not null || Elsewhere(deploymentId) is null
            ? _local.GetLogs(deploymentId, lines)
            : GetLogsAsync(deploymentId, lines).GetAwaiter().GetResult(); // the synchronous API, for callers that have no other

    public async Task<IReadOnlyList<DeploymentLogEntry>> GetLogsAsync(string deploymentId, int lines = 100, CancellationToken cancellationToken = default)
    {
        if (_local.FindDeployment(deploymentId) is not null || await ElsewhereAsync(deploymentId, strict: true, cancellationToken).ConfigureAwait(false) is not { } entry)
        {
            return _local.GetLogs(deploymentId, lines);
        }

        var outcome = await CallAsync(entry.Node, new DeploymentCommand(DeploymentCommandKind.Logs, deploymentId) { Lines = lines }, cancellationToken).ConfigureAwait(false);
        return outcome.Logs ?? [];
    }

    public DeploymentInfo Scale(string deploymentId, int replicas, int? minReplicas = null, int? maxReplicas = null) =>
        _local.FindDeployment(deploymentId) is not null || Elsewhere(deploymentId) is null
            ? _local.Scale(deploymentId, replicas, minReplicas, maxReplicas)
            : ScaleAsync(deploymentId, replicas, minReplicas, maxReplicas).GetAwaiter().GetResult(); // the synchronous API, for callers that have no other

    public Task<DeploymentInfo> ScaleAsync(string deploymentId, int replicas, int? minReplicas = null, int? maxReplicas = null, CancellationToken cancellationToken = default) =>
        RunAsync(deploymentId, DeploymentCommandKind.Scale, m => Task.FromResult(m.Scale(deploymentId, replicas, minReplicas, maxReplicas)), cancellationToken,
            c => c with { Replicas = replicas, MinReplicas = minReplicas, MaxReplicas = maxReplicas });

    public Task<DeploymentInfo> UpdateAsync(string deploymentId, DeploymentUpdate update, CancellationToken cancellationToken = default) =>
        RunAsync(deploymentId, DeploymentCommandKind.Update, m => m.UpdateAsync(deploymentId, update, cancellationToken), cancellationToken, c => c with { Update = update });

    public Task<DeploymentInfo> StopAsync(string deploymentId, CancellationToken cancellationToken = default) =>
        RunAsync(deploymentId, DeploymentCommandKind.Stop, m => m.StopAsync(deploymentId, cancellationToken), cancellationToken);

    public Task<DeploymentInfo> StartAsync(string deploymentId, CancellationToken cancellationToken = default) =>
        RunAsync(deploymentId, DeploymentCommandKind.Start, m => m.StartAsync(deploymentId, cancellationToken), cancellationToken);

    public Task<DeploymentInfo> RestartAsync(string deploymentId, CancellationToken cancellationToken = default) =>
        RunAsync(deploymentId, DeploymentCommandKind.Restart, m => m.RestartAsync(deploymentId, cancellationToken), cancellationToken);

    public DeploymentInfo? FindLatestByModel(string modelId)
    {
        if (FindByModel(modelId) is { } active) return active;
        var local = _local.FindLatestByModel(modelId);
        var remote = _remote.ById.Values.Select(e => e.Info).Where(d => d.ModelId == modelId).MaxBy(d => d.CreatedAt);
        return local is null ? remote : remote is null || local.CreatedAt >= remote.CreatedAt ? local : remote;
    }

    public async Task DeleteAsync(string deploymentId, CancellationToken cancellationToken = default)
    {
        await RunAsync(deploymentId, DeploymentCommandKind.Delete, async m =>
        {
            var info = m.GetDeployment(deploymentId);
            await m.DeleteAsync(deploymentId, cancellationToken).ConfigureAwait(false);
            return info;
        }, cancellationToken).ConfigureAwait(false);
        _remote.Remove(deploymentId);
        await ReleaseAsync(deploymentId).ConfigureAwait(false);
    }

    // The sync loop runs while the silo is active: it starts once the node has joined, and stops before it leaves.
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ClusterDeploymentManager), ServiceLifecycleStage.Active, StartSyncAsync, StopSyncAsync);

    private Task StartSyncAsync(CancellationToken cancellationToken)
    {
        _sync = Task.Run(SyncLoopAsync, CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task StopSyncAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_sync is { } sync) await sync.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    // Registered under several services, so disposed more than once: only the first counts.
    public async ValueTask DisposeAsync()
    {
        await StopSyncAsync(CancellationToken.None).ConfigureAwait(false);
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _stopping.Dispose();
    }

    /// <summary>Reports this node's deployments and takes in the others' once now (the sync loop does it every interval).</summary>
    internal async Task SyncAsync(CancellationToken cancellationToken = default)
    {
        var mine = _local.ListDeployments().ToArray();
        var others = await Directory.SyncAsync(Self, mine).WaitAsync(_options.PlacementTimeout, cancellationToken).ConfigureAwait(false);
        _remote.Replace(others.Where(e => e.Node != Self));
    }

    private async Task SyncLoopAsync()
    {
        var token = _stopping.Token;
        using var timer = new PeriodicTimer(_options.DeploymentSyncInterval);
        var failing = false;
        do
        {
            try
            {
                await SyncAsync(token).ConfigureAwait(false);
                if (failing) LogSyncBack(_logger);
                failing = false;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
            {
                // The other nodes' deployments stay as last seen; this node's own are always current.
                if (!failing) LogSyncFailed(_logger, ex.Message);
                failing = true;
            }
        }
        while (await WaitAsync(timer, token).ConfigureAwait(false));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken token)
    {
        try
        {
            return await timer.WaitForNextTickAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    // An operation on a deployment: here when it runs here (or is unknown everywhere: the local manager's error), else on its node.
    private async Task<DeploymentInfo> RunAsync(
        string deploymentId, DeploymentCommandKind kind, Func<DeploymentManager, Task<DeploymentInfo>> local, CancellationToken cancellationToken,
        Func<DeploymentCommand, DeploymentCommand>? with = null)
    {
        if (_local.FindDeployment(deploymentId) is not null || await ElsewhereAsync(deploymentId, strict: true, cancellationToken).ConfigureAwait(false) is not { } entry)
        {
            var info = await local(_local).ConfigureAwait(false);
            if (kind is not (DeploymentCommandKind.WaitUntilRunning or DeploymentCommandKind.Get or DeploymentCommandKind.Logs)) await FlushAsync(cancellationToken).ConfigureAwait(false);
            return info;
        }

        var command = new DeploymentCommand(kind, deploymentId);
        return await RemoteAsync(entry.Node, with?.Invoke(command) ?? command, cancellationToken).ConfigureAwait(false);
    }

    // The deployment on another node: as last synced, else (created a moment ago through another node, or unknown) the
    // directory says which node has it, and that node what it is. Null when no other node has it.
    // The synchronous reads (the IDeploymentManager API has them) wait here on a miss only: an id this node has not seen.
    private ClusterDeployment? Elsewhere(string deploymentId) =>
        _remote.ById.TryGetValue(deploymentId, out var entry) ? entry : Task.Run(() => LookUpAsync(deploymentId, strict: false, CancellationToken.None)).GetAwaiter().GetResult();

    // strict: when the directory or the deployment's node cannot answer, REGISTRY_UNAVAILABLE (an operation must not be
    // answered DEPLOYMENT_NOT_FOUND for a deployment that may well exist); otherwise as unknown.
    private async Task<ClusterDeployment?> ElsewhereAsync(string deploymentId, bool strict, CancellationToken cancellationToken) =>
        _remote.ById.TryGetValue(deploymentId, out var entry) ? entry : await LookUpAsync(deploymentId, strict, cancellationToken).ConfigureAwait(false);

    private async Task<ClusterDeployment?> LookUpAsync(string deploymentId, bool strict, CancellationToken cancellationToken)
    {
        try
        {
            var node = await Directory.LocateAsync(deploymentId).WaitAsync(_options.PlacementTimeout, cancellationToken).ConfigureAwait(false);
            if (node is null || node == Self) return null;
            var outcome = await _grains.GetGrain<INodeGrain>(node).DeploymentAsync(new DeploymentCommand(DeploymentCommandKind.Get, deploymentId), cancellationToken)
                .WaitAsync(_options.PlacementTimeout, cancellationToken).ConfigureAwait(false);
            if (outcome.Info is null) return null;
            var found = new ClusterDeployment(node, outcome.Info);
            _remote.Set(found);
            return found;
        }
        catch (Exception ex) when (ex is not ModelKitException and not OperationCanceledException and not OutOfMemoryException)
        {
            if (!strict) return null;
            throw new RegistryUnavailableException(
                $"The cluster cannot say now where deployment '{deploymentId}' runs (its deployment directory or that node did not answer). Try again shortly.", TimeSpan.FromSeconds(5), ex);
        }
    }

    private async Task<DeploymentInfo> RemoteAsync(string node, DeploymentCommand command, CancellationToken cancellationToken)
    {
        var outcome = await CallAsync(node, command, cancellationToken).ConfigureAwait(false);
        var info = outcome.Info!;
        if (command.Kind != DeploymentCommandKind.Delete) _remote.Set(new ClusterDeployment(node, info));

        return info;
    }

    private async Task<DeploymentOutcome> CallAsync(string node, DeploymentCommand command, CancellationToken cancellationToken)
    {
        DeploymentOutcome outcome;
        try
        {
            outcome = await _grains.GetGrain<INodeGrain>(node).DeploymentAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ForwardedServedModel.IsNodeFailure(ex) && command.Kind != DeploymentCommandKind.Deploy)
        {
            throw new ModelUnavailableException(
                $"Deployment '{command.DeploymentId}' runs on a node that cannot be reached; the cluster moves it to another node once that node is declared gone. Try again shortly.", ex);
        }

        if (outcome.ErrorCode is { } code) throw ForwardedError.From(code, outcome.ErrorMessage ?? code, outcome.RetryAfter);
        return outcome;
    }

    // A change made here is answered once it is in the cluster's database (or after 5 s of trying: it is written when the
    // database is back, and the log says so meanwhile).
    private Task<bool> FlushAsync(CancellationToken cancellationToken) => _store.FlushAsync(TimeSpan.FromSeconds(5), cancellationToken);

    private async Task ReleaseAsync(string deploymentId)
    {
        try
        {
            await Directory.ReleaseAsync(deploymentId).WaitAsync(_options.PlacementTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSyncFailed(_logger, ex.Message); // the reservation expires by itself
        }
    }

    // The size placement weighs: the version's file size when the registry has it (a model still to download counts as 0).
    private async Task<long> SizeOfAsync(DeploymentSpec spec, CancellationToken cancellationToken)
    {
        try
        {
            var (_, version) = await _router.FindServableAsync(spec.ModelId, spec.Version, cancellationToken).ConfigureAwait(false);
            return version.SizeBytes;
        }
        catch (ModelKitException)
        {
            return 0; // the chosen node's manager answers the error, or downloads the model
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "The cluster's deployment directory could not be asked about new deployment {DeploymentId} ({Reason}); it was not created.")]
    private static partial void LogDirectoryUnavailable(ILogger logger, string deploymentId, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Node {Node} could not take new deployment {DeploymentId} ({Reason}); choosing another.")]
    private static partial void LogNodeFailed(ILogger logger, string deploymentId, string node, string reason);

    [LoggerMessage(3, LogLevel.Warning, "This node could not exchange deployments with the cluster ({Reason}); other nodes' deployments show as last seen until it can.")]
    private static partial void LogSyncFailed(ILogger logger, string reason);

    [LoggerMessage(4, LogLevel.Information, "This node exchanges deployments with the cluster again.")]
    private static partial void LogSyncBack(ILogger logger);
}
