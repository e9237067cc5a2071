using System.IO.Pipelines;
using ModelKit.Registry;
using Orleans.Runtime;

namespace ModelKit.Cluster;

/// <summary>
/// Files this node lacks, from the other nodes of the cluster by sha256: every other active node is asked whether its
/// data directory has the content, and those that answer yes are offered as copies, read in chunks of
/// <see cref="NodeGrain.MaxReadBytes"/> over the cluster. The registry keeps what it reads only if size and sha256 match.
/// </summary>
internal sealed class ClusterArtifactSource(IGrainFactory grains, IClusterMembershipService membership, ILocalSiloDetails silo) : IArtifactPeerSource
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public async Task<IReadOnlyList<ArtifactCopy>> FindAsync(string sha256, CancellationToken cancellationToken = default)
    {
        var self = silo.SiloAddress;
        var peers = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self))
            .Select(m => m.SiloAddress.ToParsableString())
            .ToList();
        var answers = await Task.WhenAll(peers.Select(async peer =>
        {
            try
            {
                return await grains.GetGrain<INodeGrain>(peer).HasContentAsync(sha256).WaitAsync(AskTimeout, cancellationToken).ConfigureAwait(false) ? peer : null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return null; // gone or slow: the others may have it
            }
        })).ConfigureAwait(false);
        return [.. answers.OfType<string>().Select(peer => new ArtifactCopy($"node {peer}", ct => Task.FromResult(Open(grains.GetGrain<INodeGrain>(peer), sha256, ct))))];
    }

    // The content as a stream, its chunks read from the node one after another as the reader consumes them.
    private static Stream Open(INodeGrain node, string sha256, CancellationToken cancellationToken)
    {
        var pipe = new Pipe();
        _ = Task.Run(async () =>
        {
            try
            {
                for (long offset = 0; ; )
                {
                    var chunk = await node.ReadContentAsync(sha256, offset, NodeGrain.MaxReadBytes).WaitAsync(cancellationToken).ConfigureAwait(false)
                        ?? throw new IOException("The node no longer has the content.");
                    if (chunk.Length == 0) break;
                    var flushed = await pipe.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
                    if (flushed.IsCompleted) break; // the reader stopped
                    offset += chunk.Length;
                }

                await pipe.Writer.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                await pipe.Writer.CompleteAsync(ex).ConfigureAwait(false);
            }
        }, CancellationToken.None);
        return pipe.Reader.AsStream();
    }
}
