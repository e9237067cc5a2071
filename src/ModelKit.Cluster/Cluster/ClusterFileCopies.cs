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
/// </summary>
internal sealed partial class ClusterFileCopies(
    ModelRegistry registry, IGrainFactory grains, IClusterMembershipService membership, ILocalSiloDetails silo, IOptions<ModelKitClusterOptions> options,
    ILogger<ClusterFileCopies> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan CopyTimeout = TimeSpan.FromMinutes(10);

    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(ClusterFileCopies), ServiceLifecycleStage.Active, Start, Stop);

    private Task Start(CancellationToken cancellationToken)
    {
        if (options.Value.FileCopies > 1) registry.Changed += OnChanged;
        return Task.CompletedTask;
    }

    private Task Stop(CancellationToken cancellationToken)
    {
        registry.Changed -= OnChanged;
        return Task.CompletedTask;
    }

    private void OnChanged(object? sender, ModelRegistryChange change)
    {
        if (change is { Kind: ModelRegistryChangeKind.VersionReady, Version: { } version }) _ = Task.Run(() => CopyAsync(change.ModelId, version));
    }

    /// <summary>The other active nodes that should hold a copy of the version, chosen by a hash of the version so that copies spread.</summary>
    internal IReadOnlyList<string> CopyHolders(string modelId, string version)
    {
        var self = silo.SiloAddress.ToParsableString();
        return [.. membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active)
            .Select(m => m.SiloAddress.ToParsableString())
            .Where(node => node != self)
            .OrderBy(node => BitConverter.ToUInt32(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{node}|{modelId}|{version}"))))
            .ThenBy(node => node, StringComparer.Ordinal)
            .Take(options.Value.FileCopies - 1)];
    }

    private async Task CopyAsync(string modelId, string version)
    {
        foreach (var node in CopyHolders(modelId, version))
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

    [LoggerMessage(2, LogLevel.Warning, "Node {Node} could not copy the files of version {Version} of model {ModelId} ({Reason}); it fetches them when it is to serve them.")]
    private static partial void LogNotCopied(ILogger logger, string modelId, string version, string node, string reason);
}
