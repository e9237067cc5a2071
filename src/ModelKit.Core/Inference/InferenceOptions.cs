using ModelKit.Scheduling;

namespace ModelKit.Inference;

/// <summary>Settings of the inference service.</summary>
public sealed class InferenceOptions
{
    /// <summary>The timeout of a request that names none. Default: 30 s.</summary>
    public TimeSpan DefaultTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Batching used for a model served on demand (without an explicit deployment).</summary>
    public BatchingOptions DefaultBatching { get; set; } = new();

    /// <summary>The device used for a model served on demand. Default: <c>cpu</c>.</summary>
    public string DefaultDevice { get; set; } = "cpu";

    /// <summary>Intra-op threads per session for models served on demand; null leaves the backend's default.</summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>
    /// Serves a registered model that has no running deployment by loading it on demand with
    /// <see cref="DefaultBatching"/> on <see cref="DefaultDevice"/>. When false, such requests fail with
    /// DEPLOYMENT_NOT_RUNNING, so stopping a deployment stops its traffic. Default: true.
    /// </summary>
    public bool ServeUndeployedModels { get; set; } = true;
}
