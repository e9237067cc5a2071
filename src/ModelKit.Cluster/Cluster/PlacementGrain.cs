using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// Decides where models live. Each decision reads the active members (Orleans' membership, from PostgreSQL and the silos'
/// probes), drops holders that are no longer active, scales the model's number of holders with its queues (between
/// <see cref="ModelKitClusterOptions.HoldersPerModel"/> and <see cref="ModelKitClusterOptions.MaxHoldersPerModel"/>), and when
/// it has fewer holders than that asks every other active node for its load and picks those with the most free cache
/// memory left after what was sent there and is not loaded yet, then the shortest queues. A new
/// activation (after the silo holding it died) starts from what the nodes report as loaded, so models already warm stay
/// where they are. A model no node asked about for <see cref="ModelKitClusterOptions.PlacementForgetAfter"/> (deleted, or
/// idle) is forgotten; asked again, it is placed anew, first on a node that still has it loaded.
/// </summary>
internal sealed partial class PlacementGrain(
    IClusterMembershipService membership, IOptions<ModelKitClusterOptions> options, ILogger<PlacementGrain> logger) : Grain, IPlacementGrain
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan LoadCacheInterval = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan SilentNodeBackoff = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DroppedNodeBackoff = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan PendingHold = TimeSpan.FromSeconds(30);
    // Loads asked recently (a placement burst asks each node once), nodes that did not answer (not asked again for a
    // while, so that one silent node does not hold every placement up), and holders dropped per model (not chosen again
    // for that model for a while: they could not serve it).
    private readonly Dictionary<string, (NodeLoad Load, DateTime At)> _loads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _silent = new(StringComparer.Ordinal);
    private readonly Dictionary<(string ModelId, string Silo), DateTime> _dropped = [];
    private readonly Dictionary<string, List<string>> _holders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sizes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _askedAt = new(StringComparer.Ordinal);
    // Models sent to nodes lately (placed holders, and deployments' nodes, whose model is not known here: null), with
    // their size, counted against the node's room until its load shows the model or the hold ends.
    private readonly List<(string Silo, string? ModelId, long Bytes, DateTime Until)> _pending = [];
    // Scaling per model: how many holders it should have now, when that last changed, and when its queues last held requests.
    private readonly Dictionary<string, (int Target, DateTime ChangedAt, DateTime BusyAt)> _scale = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var load in await LoadsAsync(ActiveSilos()).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext))
        {
            foreach (var model in load.LoadedModels)
            {
                if (!_holders.TryGetValue(model, out var holders)) _holders[model] = holders = [];
                if (holders.Count < options.Value.HoldersPerModel) holders.Add(load.Silo);
                _askedAt[model] = DateTime.UtcNow;
            }
        }
    }

    public async Task<string[]> GetHoldersAsync(string modelId, long sizeBytes)
    {
        var active = ActiveSilos();
        Forget(DateTime.UtcNow);
        if (!_holders.TryGetValue(modelId, out var holders)) _holders[modelId] = holders = [];
        _sizes[modelId] = sizeBytes;
        _askedAt[modelId] = DateTime.UtcNow;
        holders.RemoveAll(h => !active.Contains(h));
        var wanted = Math.Min(await ScaleAsync(modelId, holders).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext), active.Count);
        if (holders.Count < wanted) await PlaceAsync(modelId, holders, wanted, active).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        return [.. holders];
    }

    public Task<string[]> DropHolderAsync(string modelId, string silo, long sizeBytes)
    {
        if (_holders.TryGetValue(modelId, out var holders) && holders.Remove(silo)) LogDropped(logger, modelId, silo);
        _dropped[(modelId, silo)] = DateTime.UtcNow + DroppedNodeBackoff;
        _loads.Remove(silo);
        return GetHoldersAsync(modelId, sizeBytes);
    }

    // The number of holders the model should have: one more while its holders' queues are long (up to MaxHoldersPerModel,
    // one step per ScaleInterval), one fewer after its queues stayed empty for ScaleDownAfter (down to HoldersPerModel; the
    // holder added last is released, and its cache lets the model go when it needs the room).
    private async Task<int> ScaleAsync(string modelId, List<string> holders)
    {
        var settings = options.Value;
        var now = DateTime.UtcNow;
        var (target, changedAt, busyAt) = _scale.TryGetValue(modelId, out var known) ? known : (settings.HoldersPerModel, now, now);
        if (holders.Count > 0 && settings.MaxHoldersPerModel > settings.HoldersPerModel)
        {
            var loads = await LoadsAsync(holders).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
            var queued = loads.Sum(l => l.QueuedByModel.GetValueOrDefault(modelId));
            if (queued > 0) busyAt = now;
            if (queued >= settings.ScaleUpQueueLength * holders.Count && target < settings.MaxHoldersPerModel && target <= holders.Count && now - changedAt >= settings.ScaleInterval)
            {
                target++;
                changedAt = now;
                LogScaled(logger, modelId, target, queued);
            }
            else if (target > settings.HoldersPerModel && now - busyAt >= settings.ScaleDownAfter && now - changedAt >= settings.ScaleInterval)
            {
                target--;
                changedAt = now;
                if (holders.Count > target) holders.RemoveAt(holders.Count - 1);
                LogScaled(logger, modelId, target, queued);
            }
        }

        _scale[modelId] = (target, changedAt, busyAt);
        return target;
    }

    public Task<Dictionary<string, string[]>> GetPlacementsAsync()
    {
        Forget(DateTime.UtcNow);
        return Task.FromResult(_holders.Where(p => p.Value.Count > 0).ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal));
    }

    // Models nobody asked about for PlacementForgetAfter (deleted, or idle): their holders, size and scaling state go, so
    // that what is kept here does not grow with every model ever served; and drop notes whose time is up.
    private void Forget(DateTime now)
    {
        var forgetAfter = options.Value.PlacementForgetAfter;
        foreach (var (model, at) in _askedAt)
        {
            if (now - at < forgetAfter) continue;
            _askedAt.Remove(model);
            _holders.Remove(model);
            _sizes.Remove(model);
            _scale.Remove(model);
            LogForgotten(logger, model);
        }

        foreach (var (key, until) in _dropped)
        {
            if (until <= now) _dropped.Remove(key);
        }
    }

    private async Task PlaceAsync(string modelId, List<string> holders, int wanted, HashSet<string> active)
    {
        var now = DateTime.UtcNow;
        var candidates = await LoadsAsync(active.Where(s => !holders.Contains(s) && !(_dropped.TryGetValue((modelId, s), out var until) && until > now)))
            .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        var size = _sizes.GetValueOrDefault(modelId);
        foreach (var (load, freeBytes, freeSlots) in Rank(candidates, size, modelId))
        {
            if (holders.Count >= wanted) break;
            holders.Add(load.Silo);
            if (!load.LoadedModels.Contains(modelId, StringComparer.Ordinal)) _pending.Add((load.Silo, modelId, size, now + PendingHold));
            LogPlaced(logger, modelId, load.Silo, freeBytes, freeSlots, load.QueuedRequests);
        }
    }

    public async Task<string?> ChooseNodeAsync(long sizeBytes, string[] exclude)
    {
        var candidates = await LoadsAsync(ActiveSilos().Where(s => !exclude.Contains(s, StringComparer.Ordinal))).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        var chosen = Rank(candidates, sizeBytes).Select(r => r.Load.Silo).FirstOrDefault();
        // Counted against the node until its load shows the model (a deployment comes up in the background): two deployments
        // chosen back to back do not both go to the same "empty" node.
        if (chosen is not null) _pending.Add((chosen, null, sizeBytes, DateTime.UtcNow + PendingHold));
        return chosen;
    }

    // Room on a node, in bytes and in models (its cache's MaxModels): what it reports as loaded, less what was sent there
    // lately and is not loaded yet. A node that already has the model loaded comes first (it needs no room); then nodes
    // where the model fits, the most free memory, the most free slots, the shortest queues; when it fits nowhere it still
    // goes to the roomiest node, whose cache then makes room.
    private List<(NodeLoad Load, long FreeBytes, int FreeSlots)> Rank(List<NodeLoad> candidates, long size, string? modelId = null)
    {
        var now = DateTime.UtcNow;
        _pending.RemoveAll(p => p.Until <= now);
        var loadsBySilo = candidates.ToDictionary(l => l.Silo, StringComparer.Ordinal);
        var pendingBytes = new Dictionary<string, long>(StringComparer.Ordinal);
        var pendingModels = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (silo, model, bytes, _) in _pending)
        {
            if (model is not null && loadsBySilo.TryGetValue(silo, out var load) && load.LoadedModels.Contains(model, StringComparer.Ordinal)) continue;
            pendingBytes[silo] = pendingBytes.GetValueOrDefault(silo) + bytes;
            pendingModels[silo] = pendingModels.GetValueOrDefault(silo) + 1;
        }

        return [.. candidates
            .Select(l => (Load: l, FreeBytes: l.CacheLimitBytes - l.CacheUsedBytes - pendingBytes.GetValueOrDefault(l.Silo),
                FreeSlots: l.MaxModels - l.LoadedModels.Length - pendingModels.GetValueOrDefault(l.Silo)))
            .OrderByDescending(r => modelId is not null && r.Load.LoadedModels.Contains(modelId, StringComparer.Ordinal))
            .ThenByDescending(r => r.FreeSlots >= 1 && r.FreeBytes >= size)
            .ThenByDescending(r => r.FreeBytes)
            .ThenByDescending(r => r.FreeSlots)
            .ThenBy(r => r.Load.QueuedRequests)
            .ThenBy(r => r.Load.Silo, StringComparer.Ordinal)];
    }

    private HashSet<string> ActiveSilos() =>
        [.. membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString())];

    private async Task<List<NodeLoad>> LoadsAsync(IEnumerable<string> silos)
    {
        var now = DateTime.UtcNow;
        var result = new List<NodeLoad>();
        var asked = new List<(string Silo, Task<NodeLoad> Load)>();
        foreach (var silo in silos)
        {
            if (_loads.TryGetValue(silo, out var known) && now - known.At < LoadCacheInterval) result.Add(known.Load);
            else if (!(_silent.TryGetValue(silo, out var since) && now - since < SilentNodeBackoff)) asked.Add((silo, GrainFactory.GetGrain<INodeGrain>(silo).GetLoadAsync().WaitAsync(LoadTimeout)));
        }

        foreach (var (silo, load) in asked)
        {
            try
            {
                var answer = await load.ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
                _loads[silo] = (answer, DateTime.UtcNow);
                _silent.Remove(silo);
                result.Add(answer);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _silent[silo] = DateTime.UtcNow;
                LogNoLoad(logger, silo, ex.Message);
            }
        }

        return result;
    }

    [LoggerMessage(1, LogLevel.Information, "Placed model {ModelId} on node {Silo} ({FreeBytes} bytes and {FreeSlots} models free, {Queued} requests queued).")]
    private static partial void LogPlaced(ILogger logger, string modelId, string silo, long freeBytes, int freeSlots, int queued);

    [LoggerMessage(2, LogLevel.Warning, "Node {Silo} no longer holds model {ModelId}: it did not answer.")]
    private static partial void LogDropped(ILogger logger, string modelId, string silo);

    [LoggerMessage(4, LogLevel.Information, "Model {ModelId} now wants {Target} holders ({Queued} requests waiting at its holders).")]
    private static partial void LogScaled(ILogger logger, string modelId, int target, int queued);

    [LoggerMessage(5, LogLevel.Debug, "Forgot the placement of model {ModelId}: no node asked about it lately.")]
    private static partial void LogForgotten(ILogger logger, string modelId);

    [LoggerMessage(3, LogLevel.Warning, "Node {Silo} did not report its load: {Reason}")]
    private static partial void LogNoLoad(ILogger logger, string silo, string reason);
}
