using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using ModelKit.Registry;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// Keeps more than one copy of each uploaded file: when a version becomes ready through this node, it asks
/// <see cref="ModelKitClusterOptions.FileCopies"/> − 1 other active nodes to fetch its files (by hash, from this node),
/// so that losing the node it was uploaded through does not lose the version. In the background: the upload's answer
/// does not wait for it, and a copy that fails is logged (the node fetches the files again when it is to serve them).
/// When a node joins or leaves, the versions with fewer copies than that (uploaded while the cluster was smaller, or
/// whose copy was on a node that left) get theirs: of the nodes that have a version's files, the first by address asks the others.
/// </summary>
internal sealed partial class ClusterFileCopies(
    ModelRegistry registry, IGrainFactory grains, IClusterMembershipService membership, ILocalSiloDetails silo, IOptions<ModelKitClusterOptions> options,
    ILogger<ClusterFileCopies> logger) : ILifecycleParticipant<ISiloLifecycle>, IDisposable
{
    private static readonly TimeSpan CopyTimeout = TimeSpan.FromMinutes(10);
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SweepDelay = TimeSpan.FromSeconds(2);
    private readonly CancellationTokenSource _stopping = new();
    private Task? _watch;
    private int _disposed;

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ClusterFileCopies), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        if (options.Value.FileCopies > 1)
        {
            registry.Changed += OnChanged;
            _watch = Task.Run(() => WatchMembershipAsync(_stopping.Token), CancellationToken.None);
        }

        return Task.CompletedTask;
    }

    private async Task Stop(CancellationToken cancellationToken)
    {
        registry.Changed -= OnChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_watch is { } watch) await watch.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _stopping.Dispose(); // registered under two services: disposed twice
    }

    // A sweep shortly after each change of the active nodes: one that joined can take copies, and one that left may have
    // taken some with it.
    private async Task WatchMembershipAsync(CancellationToken cancellationToken)
    {
        var active = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken).ConfigureAwait(false))
            {
                var now = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Active).Select(m => m.SiloAddress.ToParsableString()).ToHashSet(StringComparer.Ordinal);
                if (now.SetEquals(active)) continue;
                active = now;
                await Task.Delay(SweepDelay, cancellationToken).ConfigureAwait(false); // joins come in bursts
                try
                {
                    await SweepAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    LogSweepFailed(logger, ex.Message); // the next change sweeps again
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Every ready version whose files this node has and that fewer than FileCopies active nodes have: when this node is
    /// the first of them by address, the nodes that should hold a copy and lack one are asked to fetch it.
    /// </summary>
    internal async Task SweepAsync(CancellationToken cancellationToken)
    {
        var self = silo.SiloAddress.ToParsableString();
        var others = membership.CurrentSnapshot.Members.Values.Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToParsableString()).Where(node => node != self).ToList();
        if (others.Count == 0) return;
        for (var offset = 0; ; offset += 100)
        {
            var page = await registry.ListModelsAsync(new ModelQuery { Offset = offset, Limit = 100 }, cancellationToken).ConfigureAwait(false);
            foreach (var model in page.Items)
            {
                foreach (var version in model.Versions)
                {
                    if (version.Status != ModelVersionStatus.Ready) continue;
                    string[] hashes = version.Files.Count > 0 ? [.. version.Files.Select(f => f.Sha256)] : version.Sha256 is { } sha ? [sha] : [];
                    if (hashes.Length == 0 || hashes.Any(h => registry.FindStoredContent(h) is null)) continue;
                    var having = new List<string> { self };
                    foreach (var node in others)
                    {
                        if (await HasAllAsync(node, hashes).ConfigureAwait(false)) having.Add(node);
                    }

                    if (having.Count >= options.Value.FileCopies || having.Min(StringComparer.Ordinal) != self) continue;
                    var missing = CopyHolders(model.Id, version.Version).Where(node => !having.Contains(node)).Take(options.Value.FileCopies - having.Count);
                    await CopyToAsync(model.Id, version.Version, missing).ConfigureAwait(false);
                }
            }

            if (offset + page.Items.Count >= page.Total || page.Items.Count == 0) return;
        }
    }

    private async Task<bool> HasAllAsync(string node, string[] hashes)
    {
        try
        {
            foreach (var hash in hashes)
            {
                if (!await grains.GetGrain<INodeGrain>(node).HasContentAsync(hash).WaitAsync(AskTimeout).ConfigureAwait(false)) return false;
            }

            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return true; // not answering: not asked to copy now (it may be leaving)
        }
    }

    private void OnChanged(object? sender, ModelRegistryChange change)
    {
        if (change is { Kind: ModelRegistryChangeKind.VersionReady, Version: { } version }) _ = Task.Run(() => CopyAsync(change.ModelId, version));
    }

    /// <summary>The other active nodes that should hold a copy of the version, in order, chosen by a hash of the version so that copies spread.</summary>
    internal IReadOnlyList<string> CopyHolders(string modelId, string version)
    {
        var self = silo.SiloAddress.ToParsableString();
        return [.. membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToParsableString())
            .Where(node => node != self)
            .OrderBy(node => BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{node}|{modelId}|{version}"))))
            .ThenBy(node => node, StringComparer.Ordinal)];
    }

    private Task CopyAsync(string modelId, string version) => CopyToAsync(modelId, version, CopyHolders(modelId, version).Take(options.Value.FileCopies - 1));

    private async Task CopyToAsync(string modelId, string version, IEnumerable<string> nodes)
    {
        foreach (var node in nodes)
        {
            try
            {
                var copied = await grains.GetGrain<INodeGrain>(node).CopyVersionAsync(modelId, version).WaitAsync(CopyTimeout).ConfigureAwait(false);
                if (copied is null) LogCopied(logger, modelId, version, node);
                else LogNotCopied(logger, modelId, version, node, copied);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogNotCopied(logger, modelId, version, node, ex.Message);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Node {Node} keeps a copy of the files of version {Version} of model {ModelId}.")]
    private static partial void LogCopied(ILogger logger, string modelId, string version, string node);

    [LoggerMessage(3, LogLevel.Warning, "The check for versions with too few copies stopped ({Reason}); it runs again when a node joins or leaves.")]
    private static partial void LogSweepFailed(ILogger logger, string reason);

    [LoggerMessage(2, LogLevel.Warning, "Node {Node} could not copy the files of version {Version} of model {ModelId} ({Reason}); it fetches them when it is to serve them.")]
    private static partial void LogNotCopied(ILogger logger, string modelId, string version, string node, string reason);
}
