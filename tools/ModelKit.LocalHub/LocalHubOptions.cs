namespace ModelKit.LocalHub;

/// <summary>How a <see cref="LocalHubServer"/> is started.</summary>
public sealed class LocalHubOptions
{
    /// <summary>
    /// The directory served, laid out as <c>{owner}/{name}/**</c> (one folder per repository; an optional
    /// <c>.hub.json</c> in a repository holds the hub metadata that is not in its files). Required.
    /// </summary>
    public required string Root { get; set; }

    /// <summary>The TCP port on 127.0.0.1; default 0 (a free port, see <see cref="LocalHubServer.Endpoint"/>).</summary>
    public int Port { get; set; }

    /// <summary>
    /// When set, every request needs <c>Authorization: Bearer {Token}</c> (401 otherwise), except LFS downloads that carry
    /// the signature the resolve redirect put in their address. Default: null (no authentication).
    /// </summary>
    public string? Token { get; set; }

    /// <summary>
    /// Files of at least this many bytes are served as LFS files (as are <c>.onnx</c>, <c>.data</c>, <c>.onnx_data</c>,
    /// <c>.bin</c>, <c>.safetensors</c> and <c>.pb</c> files of any size); default 1 MiB.
    /// </summary>
    public long LfsThresholdBytes { get; set; } = 1 << 20;
}
