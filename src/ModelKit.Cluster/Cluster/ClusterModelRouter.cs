using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.Deployments;
using ModelKit.Scheduling;
using ModelKit.Serving;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// The router of a node in a cluster, in front of the node's own <see cref="ModelRouter"/>. A model deployed on this node
/// is served here; a model deployed on another node is forwarded there; any other model is served where the cluster's placement puts it: here when this node is among its
/// holders, otherwise by a <see cref="ForwardedServedModel"/> that sends each request over the cluster to a holder (the
/// one with the fewest requests in flight from this node). What placement answered is kept for
/// <see cref="ModelKitClusterOptions.PlacementCacheInterval"/>, so a request costs one dictionary lookup here; when it is
/// due, one request asks again while the others keep the route they have; when placement cannot be asked, the model is
/// served here rather than not at all.
/// </summary>
internal sealed partial class ClusterModelRouter : IModelRouter
{
    private readonly ModelRouter _local;
    private readonly DeploymentTable _deployments;
    private readonly RemoteDeployments? _remoteDeployments;
    private readonly IGrainFactory _grains;
    private readonly ILocalSiloDetails _silo;
    private readonly ModelKitClusterOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string ModelId, string? Version), Route> _routes = new();
    private readonly ConcurrentDictionary<(string ModelId, string? Version), Task<Route>> _refreshing = new();
    private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
    private string? _self;

    public ClusterModelRouter(
        ModelRouter local, DeploymentTable deployments, IGrainFactory grains, ILocalSiloDetails silo, IOptions<ModelKitClusterOptions> options,
        ClusterMetrics metrics, TimeProvider? time = null, ILogger<ClusterModelRouter>? logger = null, RemoteDeployments? remoteDeployments = null)
    {
        _remoteDeployments = remoteDeployments;
        Metrics = metrics;
        _local = local;
        _deployments = deployments;
        _grains = grains;
        _silo = silo;
        _options = options.Value;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>This node's key in the cluster (its silo address).</summary>
    public string Self => _self ??= _silo.SiloAddress.ToParsableString(); // asked on every forwarded request: made once

    internal IGrainFactory Grains => _grains;

    internal ClusterMetrics Metrics { get; }

    internal ModelKitClusterOptions Options => _options;

    internal ModelRouter Local => _local;

    public ValueTask<IServedModel> ResolveAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        // A deployment running here serves its model here (as the local router decides: running, and the version asked for).
        if (string.IsNullOrEmpty(modelId)
            || _deployments.FindActive(modelId) is { State: DeploymentState.Running, Runtime: { } deployed } && (version is null || version == deployed.Version))
        {
            return _local.ResolveAsync(modelId, version, cancellationToken);
        }

        // A fresh route, or a stale one while another request asks placement again (one asks; the others do not wait).
        var key = (modelId, version);
        if (_routes.TryGetValue(key, out var route) && (_time.GetTimestamp() < route.ValidUntil || _refreshing.ContainsKey(key)))
        {
            return Serve(route, modelId, version, cancellationToken);
        }

        return ResolveSlowAsync(key, cancellationToken);
    }

    private ValueTask<IServedModel> Serve(Route route, string modelId, string? version, CancellationToken cancellationToken) =>
        route.Forwarded is { } forwarded ? new ValueTask<IServedModel>(forwarded) : _local.ResolveAsync(modelId, version, cancellationToken);

    private async ValueTask<IServedModel> ResolveSlowAsync((string ModelId, string? Version) key, CancellationToken cancellationToken)
    {
        // One refresh per model and version at a time, whoever asked first; it runs to its end (bounded by the registry's and
        // placement's timeouts) even when that caller gives up, and every caller waiting for it gets its route.
        var mine = new TaskCompletionSource<Route>(TaskCreationOptions.RunContinuationsAsynchronously);
        var refresh = _refreshing.GetOrAdd(key, mine.Task);
        if (refresh == mine.Task) _ = RefreshAsync(key, mine);
        var route = await refresh.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await Serve(route, key.ModelId, key.Version, cancellationToken).ConfigureAwait(false);
    }

    private async Task RefreshAsync((string ModelId, string? Version) key, TaskCompletionSource<Route> done)
    {
        var (modelId, version) = key;
        _routes.TryGetValue(key, out var stale);
        Metrics.OnRouteRefresh(modelId);
        try
        {
            Route route;
            try
            {
                if (_remoteDeployments?.FindRunning(modelId) is { } deployed && (version is null || version == deployed.Info.Version))
                {
                    // Deployed on another node: served there, at the deployment's version, by its replicas.
                    var (_, served) = await _local.FindServableAsync(modelId, deployed.Info.Version, CancellationToken.None).ConfigureAwait(false);
                    route = RouteTo(modelId, version, served, [deployed.Node], stale);
                }
                else
                {
                    var (model, info) = await _local.FindServableAsync(modelId, version, CancellationToken.None).ConfigureAwait(false);
                    var holders = await _grains.GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).GetHoldersAsync(model.Id, info.SizeBytes)
                        .WaitAsync(_options.PlacementTimeout).ConfigureAwait(false);
                    route = RouteTo(modelId, version, info, holders, stale);
                }
            }
            catch (RegistryUnavailableException) when (stale is not null)
            {
                route = stale; // the registry cannot say whether the model changed: keep serving it as before
            }
            catch (Exception ex) when (ex is not ModelKitException and not OperationCanceledException)
            {
                // Placement cannot be asked (its node just died, the cluster is partitioned): serve it here.
                LogPlacementUnavailable(_logger, modelId, ex.Message);
                route = new Route(null, []);
            }

            route = route with { ValidUntil = _time.GetTimestamp() + (long)(_options.PlacementCacheInterval.TotalSeconds * _time.TimestampFrequency) };
            _routes[key] = route;
            done.SetResult(route);
        }
        catch (Exception ex)
        {
            done.SetException(ex);
        }
        finally
        {
            _refreshing.TryRemove(new KeyValuePair<(string, string?), Task<Route>>(key, done.Task));
        }
    }

    private Route RouteTo(string modelId, string? version, Registry.ModelVersionInfo info, string[] holders, Route? stale)
    {
        if (holders.Length == 0 || holders.Contains(Self, StringComparer.Ordinal)) return new Route(null, holders);
        if (stale?.Forwarded is { } previous && previous.Serves(info) && previous.Holders.SequenceEqual(holders)) return stale with { Holders = holders };
        return new Route(new ForwardedServedModel(this, modelId, version, info, holders), holders);
    }

    /// <summary>Takes <paramref name="silo"/> out of <paramref name="modelId"/>'s holders after it failed; returns the holders now.</summary>
    internal async Task<string[]> DropHolderAsync(string modelId, string silo, long sizeBytes)
    {
        // Due now, not gone: the next request asks placement again, and keeps this route if the registry cannot answer.
        foreach (var (key, route) in _routes)
        {
            if (key.ModelId == modelId) _routes.TryUpdate(key, route with { ValidUntil = 0 }, route);
        }
        try
        {
            return await _grains.GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).DropHolderAsync(modelId, silo, sizeBytes)
                .WaitAsync(_options.PlacementTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogPlacementUnavailable(_logger, modelId, ex.Message);
            return [];
        }
    }

    /// <summary>The holder with the fewest requests in flight from this node; the next in <paramref name="holders"/>' order on a tie.</summary>
    internal string PickHolder(string[] holders)
    {
        var best = holders[0];
        var fewest = int.MaxValue;
        foreach (var holder in holders)
        {
            var count = _inFlight.GetValueOrDefault(holder);
            if (count < fewest) (best, fewest) = (holder, count);
        }

        return best;
    }

    internal void Started(string holder) => _inFlight.AddOrUpdate(holder, 1, (_, n) => n + 1);

    internal void Finished(string holder) => _inFlight.AddOrUpdate(holder, 0, (_, n) => Math.Max(0, n - 1));

    public IReadOnlyDictionary<string, BatchQueueStats> GetQueueStats() => _local.GetQueueStats();

    public BatchQueueStats GetQueueStats(string modelId) => _local.GetQueueStats(modelId);

    public IReadOnlyList<ModelUnavailability> GetUnavailable() => _local.GetUnavailable();

    // Forwarded: null when the model is served on this node. ValidUntil: a timestamp of the router's TimeProvider.
    private sealed record Route(ForwardedServedModel? Forwarded, string[] Holders, long ValidUntil = 0);

    internal void LogHolderFailed(string modelId, string holder, string code, string? reason) => LogHolder(_logger, modelId, holder, code, reason ?? string.Empty);

    [LoggerMessage(2, LogLevel.Warning, "Node {Holder} could not serve model {ModelId} ({Code}: {Reason}); trying another.")]
    private static partial void LogHolder(ILogger logger, string modelId, string holder, string code, string reason);

    [LoggerMessage(1, LogLevel.Warning, "The cluster's placement could not be asked about model {ModelId} ({Reason}); serving it on this node.")]
    private static partial void LogPlacementUnavailable(ILogger logger, string modelId, string reason);
}
