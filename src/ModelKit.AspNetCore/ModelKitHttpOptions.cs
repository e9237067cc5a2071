namespace ModelKit.AspNetCore;

/// <summary>Limits of the HTTP surface (section <c>ModelKit:Http</c> in the sample).</summary>
public sealed class ModelKitHttpOptions
{
    /// <summary>The largest JSON request body; larger ones get 413 PAYLOAD_TOO_LARGE. Uploads are bounded by ModelKitOptions.MaxArtifactBytes instead. Default: 64 MiB.</summary>
    public long MaxJsonBodyBytes { get; set; } = 64L << 20;
}
