namespace ModelKit.AspNetCore;

/// <summary>Limits of the HTTP surface (section <c>ModelKit:Http</c> in the sample).</summary>
public sealed class ModelKitHttpOptions
{
    /// <summary>The largest JSON request body; larger ones get 413 PAYLOAD_TOO_LARGE. Uploads are bounded by ModelKitOptions.MaxArtifactBytes instead. Default: 64 MiB.</summary>
    public long MaxJsonBodyBytes { get; set; } = 64L << 20;

    /// <summary>
    /// JSON bodies from this size up (and bodies of unknown length) are large: at most <see cref="MaxConcurrentLargeBodies"/>
    /// of them are read and served at a time; the others wait their turn. Default: 4 MiB.
    /// </summary>
    public long LargeBodyBytes { get; set; } = 4L << 20;

    /// <summary>How many large JSON requests are read and served at once (each holds memory a few times its size). Default: 2.</summary>
    public int MaxConcurrentLargeBodies { get; set; } = 2;
}
