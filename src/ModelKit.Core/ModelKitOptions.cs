namespace ModelKit;

/// <summary>Where ModelKit keeps its state.</summary>
public sealed class ModelKitOptions
{
    /// <summary>
    /// The directory for the registry database (<c>registry.db</c>), the content-addressed artifact store
    /// (<c>blobs/</c>, and <c>versions/</c> for versions of several files) and uploads in flight (<c>tmp/</c>).
    /// Default: <c>modelkit-data</c> under the current directory. Several processes may share one directory.
    /// </summary>
    public string DataDirectory { get; set; } = "modelkit-data";

    /// <summary>The largest upload accepted, in bytes: the files of one version together. Default: 8 GiB.</summary>
    public long MaxArtifactBytes { get; set; } = 8L << 30;
}
