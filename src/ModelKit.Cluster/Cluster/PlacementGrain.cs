using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// Decides where models live. Each decision reads the active members (Orleans' membership, from PostgreSQL and the silos'
/// probes), drops holders that are no longer active, and when a model has fewer holders than
/// <see cref="ModelKitClusterOptions.HoldersPerModel"/> asks every other active node for its load and picks those with the
/// most free cache memory left after what this grain has already placed there, then the shortest queues. A new
/// activation (after the silo holding it died) starts from what the nodes report as loaded, so models already warm stay
/// where they are.
/// </summary>
internal sealed partial class PlacementGrain(
    IClusterMembershipService membership, IOptions<ModelKitClusterOptions> options, ILogger<PlacementGrain> logger) : Grain, IPlacementGrain
{
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(2);
    private readonly Dictionary<string, List<string>> _holders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sizes = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var load in await LoadsAsync(ActiveSilos()).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext))
        {
            foreach (var model in load.LoadedModels)
            {
                if (!_holders.TryGetValue(model, out var holders)) _holders[model] = holders = [];
                if (holders.Count < options.Value.HoldersPerModel) holders.Add(load.Silo);
            }
        }
    }

    public async Task<string[]> GetHoldersAsync(string modelId, long sizeBytes)
    {
        var active = ActiveSilos();
        if (!_holders.TryGetValue(modelId, out var holders)) _holders[modelId] = holders = [];
        _sizes[modelId] = sizeBytes;
        holders.RemoveAll(h => !active.Contains(h));
        var wanted = Math.Min(options.Value.HoldersPerModel, active.Count);
        if (holders.Count < wanted) await PlaceAsync(modelId, holders, wanted, active).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        return [.. holders];
    }

    public Task<string[]> DropHolderAsync(string modelId, string silo, long sizeBytes)
    {
        if (_holders.TryGetValue(modelId, out var holders) && holders.Remove(silo)) LogDropped(logger, modelId, silo);
        return GetHoldersAsync(modelId, sizeBytes);
    }

    public Task<Dictionary<string, string[]>> GetPlacementsAsync() =>
        Task.FromResult(_holders.Where(p => p.Value.Count > 0).ToDictionary(p => p.Key, p => p.Value.ToArray(), StringComparer.Ordinal));

    private async Task PlaceAsync(string modelId, List<string> holders, int wanted, HashSet<string> active)
    {
        var candidates = await LoadsAsync(active.Where(s => !holders.Contains(s))).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        var placedBytes = new Dictionary<string, long>(StringComparer.Ordinal);
        var placedModels = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (model, on) in _holders)
        {
            foreach (var silo in on)
            {
                placedBytes[silo] = placedBytes.GetValueOrDefault(silo) + _sizes.GetValueOrDefault(model);
                placedModels[silo] = placedModels.GetValueOrDefault(silo) + 1;
            }
        }

        // Room on a node, in bytes and in models (its cache's MaxModels): what it reports, less what has been placed there
        // and is not loaded yet (the node counts what is loaded, this grain what it has sent there: the larger is in use).
        // Nodes where the model fits come first, then the most free memory, the most free slots, the shortest queues; when
        // it fits nowhere it still goes to the roomiest node, whose cache then makes room.
        long FreeBytes(NodeLoad l) => l.CacheLimitBytes - Math.Max(l.CacheUsedBytes, placedBytes.GetValueOrDefault(l.Silo));
        int FreeSlots(NodeLoad l) => l.MaxModels - Math.Max(l.LoadedModels.Length, placedModels.GetValueOrDefault(l.Silo));
        var size = _sizes.GetValueOrDefault(modelId);
        foreach (var load in candidates
            .OrderByDescending(l => FreeSlots(l) >= 1 && FreeBytes(l) >= size)
            .ThenByDescending(FreeBytes)
            .ThenByDescending(FreeSlots)
            .ThenBy(l => l.QueuedRequests)
            .ThenBy(l => l.Silo, StringComparer.Ordinal))
        {
            if (holders.Count >= wanted) break;
            holders.Add(load.Silo);
            LogPlaced(logger, modelId, load.Silo, FreeBytes(load), FreeSlots(load), load.QueuedRequests);
        }
    }

    private HashSet<string> ActiveSilos() =>
        [.. membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString())];

    private async Task<List<NodeLoad>> LoadsAsync(IEnumerable<string> silos)
    {
        var asks = silos.Select(async silo =>
        {
            try
            {
                return await GrainFactory.GetGrain<INodeGrain>(silo).GetLoadAsync().WaitAsync(LoadTimeout).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogNoLoad(logger, silo, ex.Message);
                return null;
            }
        }).ToList();
        var loads = await Task.WhenAll(asks).ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
        return [.. loads.OfType<NodeLoad>()];
    }

    [LoggerMessage(1, LogLevel.Information, "Placed model {ModelId} on node {Silo} ({FreeBytes} bytes and {FreeSlots} models free, {Queued} requests queued).")]
    private static partial void LogPlaced(ILogger logger, string modelId, string silo, long freeBytes, int freeSlots, int queued);

    [LoggerMessage(2, LogLevel.Warning, "Node {Silo} no longer holds model {ModelId}: it did not answer.")]
    private static partial void LogDropped(ILogger logger, string modelId, string silo);

    [LoggerMessage(3, LogLevel.Warning, "Node {Silo} did not report its load: {Reason}")]
    private static partial void LogNoLoad(ILogger logger, string silo, string reason);
}
