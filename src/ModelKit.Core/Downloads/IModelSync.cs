namespace ModelKit.Downloads;

/// <summary>
/// Refreshes what the registry records of models downloaded from a hub — the hub's current commit, downloads, likes, tags
/// and size — so that a catalogue shows them and can tell when a newer revision exists. The model's files are not touched:
/// a new revision is fetched by a new download.
/// </summary>
public interface IModelSync
{
    /// <summary>
    /// Syncs <paramref name="modelIds"/> (every model downloaded from a hub when null or empty). An id the registry does not
    /// have is MODEL_NOT_FOUND before anything is synced; one not from a hub is reported skipped; one the hub cannot answer
    /// for is reported failed with its code, and the others still sync.
    /// </summary>
    Task<IReadOnlyList<ModelSyncResult>> SyncAsync(IReadOnlyList<string>? modelIds = null, CancellationToken cancellationToken = default);
}

/// <summary>What syncing one model did.</summary>
public sealed record ModelSyncResult
{
    /// <summary>The registry's model id.</summary>
    public required string ModelId { get; init; }

    /// <summary>What happened.</summary>
    public required ModelSyncStatus Status { get; init; }

    /// <summary>The hub repository it came from.</summary>
    public string? Repository { get; init; }

    /// <summary>The revision the model's files came from (its download's commit).</summary>
    public string? DownloadedRevision { get; init; }

    /// <summary>The hub's current commit of the default branch.</summary>
    public string? HubRevision { get; init; }

    /// <summary>Whether the hub has a newer commit than the one downloaded.</summary>
    public bool UpdateAvailable { get; init; }

    /// <summary>The hub's download count.</summary>
    public long? Downloads { get; init; }

    /// <summary>The hub's likes.</summary>
    public long? Likes { get; init; }

    /// <summary>The size of the repository's files at the hub's current commit.</summary>
    public long? SizeBytes { get; init; }

    /// <summary>Why it failed or was skipped: an error code (failed) and a message.</summary>
    public string? ErrorCode { get; init; }

    /// <summary>What went wrong, or why it was skipped.</summary>
    public string? Message { get; init; }
}

/// <summary>The outcome of syncing one model.</summary>
public enum ModelSyncStatus
{
    /// <summary>The registry's record was refreshed from the hub.</summary>
    Synced,
    /// <summary>The model was not downloaded from a hub; nothing to sync.</summary>
    Skipped,
    /// <summary>The hub could not answer for it (see the error).</summary>
    Failed,
}
