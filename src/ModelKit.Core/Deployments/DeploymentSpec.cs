using ModelKit.Scheduling;

namespace ModelKit.Deployments;

/// <summary>What a new deployment should serve and how.</summary>
public sealed record DeploymentSpec
{
    /// <summary>The deployment's id; generated (<c>dep-…</c>) when null.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>The registered model to serve.</summary>
    public required string ModelId { get; init; }

    /// <summary>The version; the model's default (latest ready) version when null.</summary>
    public string? Version { get; init; }

    /// <summary>Desired replicas: batches of this model that may run at once. Default: 1.</summary>
    public int Replicas { get; init; } = 1;

    /// <summary>
    /// The autoscaler's lower bound; when null, <see cref="Replicas"/> if <see cref="MaxReplicas"/> is null too
    /// (a fixed size), else 1. Above 0 the model is pinned in the
    /// cache; 0 lets an idle model be evicted and reloaded on its next request.
    /// </summary>
    public int? MinReplicas { get; init; }

    /// <summary>The autoscaler's upper bound; <see cref="Replicas"/> when null. Autoscaling is on when it is above the lower bound.</summary>
    public int? MaxReplicas { get; init; }

    /// <summary>Queued requests per replica above which the autoscaler adds a replica. Default: 8.</summary>
    public int TargetQueueDepth { get; init; } = 8;

    /// <summary>Memory reserved for this deployment out of the cache's budget; refused with INSUFFICIENT_RESOURCES when it does not fit.</summary>
    public long? MemoryRequestBytes { get; init; }

    /// <summary>The execution device (<c>cpu</c>, <c>cuda:N</c>); the inference service's default device when null.</summary>
    public string? Device { get; init; }

    /// <summary>Batching settings; the inference service's defaults when null. <see cref="BatchingOptions.Instances"/> is replaced by the replica count.</summary>
    public BatchingOptions? Batching { get; init; }

    /// <summary>The priority of requests that name none. Default: normal.</summary>
    public RequestPriority DefaultPriority { get; init; } = RequestPriority.Normal;

    /// <summary>Intra-op threads of the session; the inference service's setting when null.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Text generation settings for a decoder (context length, KV-cache budget); null: the generation service's.</summary>
    public GenerationLimits? Generation { get; init; }

    /// <summary>
    /// Where to download the model from when the registry does not have <see cref="ModelId"/> yet: the deployment is
    /// created at once with a <c>download</c> stage before the others, downloads the model (registered as
    /// <see cref="ModelId"/>, version <see cref="Version"/> or <c>1</c>) and then comes up. Ignored when the registry has the
    /// model. Needs a download manager (<c>AddModelKit()</c> adds one).
    /// </summary>
    public Downloads.DownloadRequest? Source { get; init; }

    /// <summary>
    /// Free key/value settings kept with the deployment and shown in its status (seed 000's
    /// <c>environment_variables</c>). ModelKit runs models in-process, so they are not applied to a process environment.
    /// </summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}
