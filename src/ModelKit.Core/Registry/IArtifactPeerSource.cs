namespace ModelKit.Registry;

/// <summary>
/// Where a node can get a model file it lacks, by its content's sha256: the other nodes of a cluster, a directory shared
/// between nodes. When a version is about to be served and one of its files is not in this node's data directory, the
/// registry asks every registered source (<c>IArtifactPeerSource</c> services) for the places that have the content, and
/// reads them in turn until one gives content whose size and sha256 match the version's record; only that is stored.
/// </summary>
public interface IArtifactPeerSource
{
    /// <summary>The places this source can read the content from, best first; empty when it has none.</summary>
    /// <param name="sha256">The content's sha256, 64 lowercase hex digits.</param>
    /// <param name="cancellationToken">Cancels the search.</param>
    Task<IReadOnlyList<ArtifactCopy>> FindAsync(string sha256, CancellationToken cancellationToken = default);
}

/// <summary>One place a file's content can be read from: a description for the log (never sent to clients) and how to open it.</summary>
/// <param name="Description">Where it is, for the log: "node 10.0.0.12:11111", "shared directory".</param>
/// <param name="OpenAsync">Opens the content for reading from its start.</param>
public sealed record ArtifactCopy(string Description, Func<CancellationToken, Task<Stream>> OpenAsync);
