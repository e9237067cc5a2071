using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.Deployments;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// The cluster's deployments. Every node reports its own every <see cref="ModelKitClusterOptions.DeploymentSyncInterval"/>
/// and gets everyone else's back; a new deployment is reserved here (so that two nodes cannot create the same id, or
/// deploy the same model twice, at once) and given the node with the most room. Every few seconds it compares the saved
/// deployments (the cluster's database) with the members: the deployments of a node that is dead, or gone from membership
/// for a minute, are taken over by the node with the most room, which brings each up as a restart would. A new activation
/// starts empty and is complete again after one round of reports.
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
    private DateTime _checkedAt;

    public async Task<ClusterDeployment[]> SyncAsync(string node, DeploymentInfo[] deployments)
    {
        _reports[node] = deployments;
        foreach (var d in deployments) _reserved.Remove(d.DeploymentId);
        var active = ActiveNodes();
        foreach (var gone in _reports.Keys.Where(n => n != node && !active.Contains(n)).ToList()) _reports.Remove(gone);
        if (DateTime.UtcNow - _checkedAt >= TakeOverInterval)
        {
            _checkedAt = DateTime.UtcNow;
            await TakeOverAsync().ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        }

        return [.. _reports.Where(r => r.Key != node).SelectMany(r => r.Value.Select(info => new ClusterDeployment(r.Key, info)))];
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

    // Saved deployments whose node left the cluster go to the node with the most room (one that fails is skipped for that deployment).
    private async Task TakeOverAsync()
    {
        List<(string DeploymentId, string ModelId, string Node, string Record, DateTimeOffset UpdatedAt)> rows;
        try
        {
            rows = await ClusterDeploymentStore.ListAsync(database.DataSource, options.Value.ClusterId, CancellationToken.None)
                .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            LogNoRows(logger, ex.Message);
            return;
        }

        var running = _reports.Values.SelectMany(r => r).Select(d => d.DeploymentId).ToHashSet(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (running.Contains(row.DeploymentId) || !Gone(row.Node, row.UpdatedAt)) continue;
            var record = ClusterDeploymentStore.Deserialize(row.Record);
            if (record is null) continue;
            var exclude = new List<string>();
            for (var attempt = 0; attempt < 3; attempt++)
            {
                var target = await GrainFactory.GetGrain<IPlacementGrain>(IPlacementGrain.ClusterKey).ChooseNodeAsync(record.MemoryRequestBytes ?? 0, [.. exclude])
                    .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
                if (target is null) break;
                try
                {
                    var outcome = await GrainFactory.GetGrain<INodeGrain>(target)
                        .DeploymentAsync(new DeploymentCommand(DeploymentCommandKind.Adopt, row.DeploymentId) { Record = row.Record, From = row.Node })
                        .WaitAsync(AdoptTimeout).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
                    if (outcome.Info is { } info)
                    {
                        _reports[target] = [.. (_reports.GetValueOrDefault(target) ?? []).Where(d => d.DeploymentId != info.DeploymentId), info];
                        LogTakenOver(logger, row.DeploymentId, row.Node, target);
                        break;
                    }

                    LogNotTakenOver(logger, row.DeploymentId, target, outcome.ErrorMessage ?? outcome.ErrorCode ?? "no answer");
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    LogNotTakenOver(logger, row.DeploymentId, target, ex.Message);
                }

                exclude.Add(target);
            }
        }
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

    [LoggerMessage(1, LogLevel.Warning, "Deployment {DeploymentId} of node {From}, which left the cluster, now runs on node {Node}.")]
    private static partial void LogTakenOver(ILogger logger, string deploymentId, string from, string node);

    [LoggerMessage(2, LogLevel.Warning, "Node {Node} could not take over deployment {DeploymentId}: {Reason}")]
    private static partial void LogNotTakenOver(ILogger logger, string deploymentId, string node, string reason);

    [LoggerMessage(3, LogLevel.Warning, "The cluster's saved deployments could not be read ({Reason}); deployments of nodes that left are taken over once they can.")]
    private static partial void LogNoRows(ILogger logger, string reason);
}
