using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.Deployments;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// The cluster's deployments. Every node reports its own every <see cref="ModelKitClusterOptions.DeploymentSyncInterval"/>
/// and gets everyone else's back; a new deployment is reserved here (so that two nodes cannot create the same id, or
/// deploy the same model twice, at once) and given the node with the most room. Every few seconds (a timer that
/// interleaves with the nodes' calls) it compares the saved deployments (the cluster's database) with the members: the
/// deployments of a node that is dead, or gone from membership for a minute, are taken over by the node with the most
/// room, which brings each up as a restart would. A new activation starts empty and is complete again after one round
/// of reports.
/// </summary>
internal sealed partial class DeploymentDirectoryGrain(
    IClusterMembershipService membership, ClusterDatabase database, IOptions<ModelKitClusterOptions> options, ILogger<DeploymentDirectoryGrain> logger)
    : Grain, IDeploymentDirectoryGrain
{
    private static readonly TimeSpan ReservationHold = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan TakeOverInterval = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan UnknownNodeGrace = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan AdoptTimeout = TimeSpan.FromSeconds(30);
    private readonly Dictionary<string, DeploymentInfo[]> _reports = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string ModelId, string Node, DateTime Until)> _reserved = new(StringComparer.Ordinal);
    private bool _takingOver;

    // Take-over runs on a timer that interleaves with the nodes' calls, so that a slow take-over does not hold syncs and
    // reservations up.
    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        LogActivated(logger);
        this.RegisterGrainTimer(TakeOverAsync, new GrainTimerCreationOptions(TakeOverInterval, TakeOverInterval) { Interleave = true, KeepAlive = true });
        return Task.CompletedTask;
    }

    public Task<ClusterDeployment[]> SyncAsync(string node, DeploymentInfo[] deployments)
    {
        _reports[node] = deployments;
        foreach (var d in deployments) _reserved.Remove(d.DeploymentId);
        var active = ActiveNodes();
        foreach (var gone in _reports.Keys.Where(n => n != node && !active.Contains(n)).ToList()) _reports.Remove(gone);
        return Task.FromResult<ClusterDeployment[]>([.. _reports.Where(r => r.Key != node).SelectMany(r => r.Value.Select(info => new ClusterDeployment(r.Key, info)))]);
    }

    public async Task<DeploymentReservation> ReserveAsync(string deploymentId, string modelId, long sizeBytes, string[] exclude, string requester)
    {
        var now = DateTime.UtcNow;
        foreach (var expired in _reserved.Where(r => r.Value.Until <= now).Select(r => r.Key).ToList()) _reserved.Remove(expired);
        var all = _reports.Values.SelectMany(r => r).ToList();
        if (_reserved.ContainsKey(deploymentId) || all.Any(d => d.DeploymentId == deploymentId))
        {
            return new DeploymentReservation(null, ModelKitErrorCodes.Conflict, $"A deployment named '{deploymentId}' already exists.");
        }

        var other = all.FirstOrDefault(d => d.ModelId == modelId && d.State is not (DeploymentState.Stopped or DeploymentState.Failed))?.DeploymentId
            ?? _reserved.FirstOrDefault(r => r.Value.ModelId == modelId).Key;
        if (other is not null)
        {
            return new DeploymentReservation(null, ModelKitErrorCodes.Conflict, $"Model '{modelId}' is already deployed as '{other}'; update, stop or delete that deployment first.");
        }

        var node = await GrainFactory.GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).ChooseNodeAsync(sizeBytes, exclude)
            .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext) ?? requester;
        _reserved[deploymentId] = (modelId, node, now + ReservationHold);
        return new DeploymentReservation(node, null, null);
    }

    public Task<string?> LocateAsync(string deploymentId)
    {
        foreach (var (node, deployments) in _reports)
        {
            if (deployments.Any(d => d.DeploymentId == deploymentId)) return Task.FromResult<string?>(node);
        }

        return Task.FromResult(_reserved.TryGetValue(deploymentId, out var reserved) && reserved.Until > DateTime.UtcNow ? reserved.Node : null);
    }

    public Task ReleaseAsync(string deploymentId)
    {
        _reserved.Remove(deploymentId);
        foreach (var (node, deployments) in _reports.ToList())
        {
            if (deployments.Any(d => d.DeploymentId == deploymentId)) _reports[node] = [.. deployments.Where(d => d.DeploymentId != deploymentId)];
        }

        return Task.CompletedTask;
    }

    // Saved deployments whose node left the cluster go to the node with the most room. The row is moved to that node
    // first (only if it is still the old node's), so that no other take-over, and no late write of the old node, can
    // give it to a second node; if the new node cannot bring it up, the row goes back and the next round tries again.
    private async Task TakeOverAsync(CancellationToken cancellationToken)
    {
        if (_takingOver) return;
        _takingOver = true;
        try
        {
            await TakeOverRowsAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            LogNoRows(logger, ex.Message);
        }
        finally
        {
            _takingOver = false;
        }
    }

    private async Task TakeOverRowsAsync(CancellationToken cancellationToken)
    {
        var cluster = options.Value.ClusterId;
        var rows = await ClusterDeploymentStore.ListAsync(database.DataSource, cluster, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        var runners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (node, deployments) in _reports)
        {
            foreach (var d in deployments) runners[d.DeploymentId] = node;
        }

        foreach (var row in rows)
        {
            if (_reserved.ContainsKey(row.DeploymentId)) continue; // being created
            if (runners.TryGetValue(row.DeploymentId, out var runner))
            {
                // Running, but saved as another node's (a take-over whose answer came too late): the row follows the runner.
                if (runner != row.Node) await ClusterDeploymentStore.MoveAsync(database.DataSource, cluster, row.DeploymentId, row.Node, runner, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
                continue;
            }

            if (!Orphaned(row.Node, row.UpdatedAt)) continue;
            PersistedDeployment? record;
            try
            {
                record = ClusterDeploymentStore.Deserialize(row.Record);
            }
            catch (System.Text.Json.JsonException ex)
            {
                LogUnreadable(logger, row.DeploymentId, ex.Message);
                continue;
            }

            if (record is null) continue;
            var exclude = new List<string>();
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var target = await GrainFactory.GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).ChooseNodeAsync(record.MemoryRequestBytes ?? 0, [.. exclude])
                    .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
                if (target is null) break;
                if (!await ClusterDeploymentStore.MoveAsync(database.DataSource, cluster, row.DeploymentId, row.Node, target, cancellationToken)
                    .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext)) break; // changed meanwhile: the next round sees how
                string reason;
                try
                {
                    var outcome = await GrainFactory.GetGrain<INodeGrain>(target)
                        .DeploymentAsync(new DeploymentCommand(DeploymentCommandKind.Adopt, row.DeploymentId) { Record = row.Record, From = row.Node }, cancellationToken)
                        .WaitAsync(AdoptTimeout, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
                    if (outcome.Info is { } info)
                    {
                        _reports[target] = [.. (_reports.GetValueOrDefault(target) ?? []).Where(d => d.DeploymentId != info.DeploymentId), info];
                        LogTakenOver(logger, row.DeploymentId, row.Node, target);
                        break;
                    }

                    reason = outcome.ErrorMessage ?? outcome.ErrorCode ?? "no answer";
                }
                catch (TimeoutException)
                {
                    // Still coming up there, perhaps: the row stays that node's; it reports the deployment when it runs it,
                    // and if it never does, the row is taken over again once it has been silent for a while.
                    LogNotTakenOver(logger, row.DeploymentId, target, $"no answer within {AdoptTimeout.TotalSeconds:F0} s");
                    break;
                }
                catch (Exception ex) when (ex is not OutOfMemoryException and not OperationCanceledException)
                {
                    reason = ex.Message;
                }

                LogNotTakenOver(logger, row.DeploymentId, target, reason);
                await ClusterDeploymentStore.MoveAsync(database.DataSource, cluster, row.DeploymentId, target, row.Node, cancellationToken)
                    .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
                exclude.Add(target);
            }
        }
    }

    // A saved deployment needs a new node when its node is dead (or gone from membership a minute after the row was
    // written), or when its node is alive and has reported to this directory, but not this deployment, for a minute
    // since the row was written (a take-over that never came up there).
    private bool Orphaned(string node, DateTimeOffset savedAt)
    {
        if (Gone(node, savedAt)) return true;
        return _reports.ContainsKey(node) && DateTimeOffset.UtcNow - savedAt > UnknownNodeGrace;
    }

    // A node is gone when membership says it is dead, or has not known it for a minute after its last save (its entry
    // was cleaned up); a node joining or shutting down is not gone yet.
    private bool Gone(string node, DateTimeOffset savedAt)
    {
        SiloAddress address;
        try
        {
            address = SiloAddress.FromParsableString(node);
        }
        catch (FormatException)
        {
            return true;
        }

        if (membership.CurrentSnapshot.Members.TryGetValue(address, out var member)) return member.Status == SiloStatus.Dead;
        return DateTimeOffset.UtcNow - savedAt > UnknownNodeGrace;
    }

    private HashSet<string> ActiveNodes() =>
        [.. membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString())];

    [LoggerMessage(5, LogLevel.Information, "The cluster's deployment directory is active on this node.")]
    private static partial void LogActivated(ILogger logger);

    [LoggerMessage(1, LogLevel.Warning, "Deployment {DeploymentId} of node {From}, which left the cluster, now runs on node {Node}.")]
    private static partial void LogTakenOver(ILogger logger, string deploymentId, string from, string node);

    [LoggerMessage(2, LogLevel.Warning, "Node {Node} could not take over deployment {DeploymentId}: {Reason}")]
    private static partial void LogNotTakenOver(ILogger logger, string deploymentId, string node, string reason);

    [LoggerMessage(4, LogLevel.Error, "Saved deployment {DeploymentId} cannot be read ({Reason}); it is not taken over.")]
    private static partial void LogUnreadable(ILogger logger, string deploymentId, string reason);

    [LoggerMessage(3, LogLevel.Warning, "The cluster's saved deployments could not be read ({Reason}); deployments of nodes that left are taken over once they can.")]
    private static partial void LogNoRows(ILogger logger, string reason);
}
