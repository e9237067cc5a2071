using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelKit.Diagnostics;

/// <summary>The names of ModelKit's meter, activity source, instruments and tags.</summary>
public static class ModelKitTelemetry
{
    /// <summary>The name of the <see cref="Meter"/> and the <see cref="ActivitySource"/>.</summary>
    public const string Name = "ModelKit";

    /// <summary>Tag: model id.</summary>
    public const string ModelTag = "modelkit.model";
    /// <summary>Tag: model version.</summary>
    public const string VersionTag = "modelkit.version";
    /// <summary>Tag: outcome (<c>ok</c> or an error code).</summary>
    public const string StatusTag = "modelkit.status";

    /// <summary>Histogram (s): time from submission to result, per request.</summary>
    public const string InferenceDuration = "modelkit.inference.duration";
    /// <summary>Histogram ({request}): requests merged into one backend run.</summary>
    public const string BatchSize = "modelkit.batch.size";
    /// <summary>Up-down counter ({request}): requests waiting in queues.</summary>
    public const string QueueLength = "modelkit.queue.length";
    /// <summary>Counter ({request}): requests rejected because a queue was full.</summary>
    public const string QueueRejections = "modelkit.queue.rejections";
    /// <summary>Counter ({lease}): cache lookups that found a loaded model.</summary>
    public const string CacheHits = "modelkit.cache.hits";
    /// <summary>Counter ({lease}): cache lookups that had to load or wait for a load.</summary>
    public const string CacheMisses = "modelkit.cache.misses";
    /// <summary>Counter ({model}): models evicted from the cache.</summary>
    public const string CacheEvictions = "modelkit.cache.evictions";
    /// <summary>Up-down counter (By): memory held by cached models.</summary>
    public const string CacheMemoryUsage = "modelkit.cache.memory.usage";
    /// <summary>Histogram (s): time to load a model into a session.</summary>
    public const string ModelLoadDuration = "modelkit.model.load.duration";
    /// <summary>Counter ({token}): tokens read (<see cref="TokenTypeTag"/> <c>prompt</c>) and generated (<c>completion</c>) by text generation.</summary>
    public const string GenerationTokens = "modelkit.generation.tokens";
    /// <summary>Histogram (s): time from a generation's arrival to its first token (queueing and prefill).</summary>
    public const string TimeToFirstToken = "modelkit.generation.time_to_first_token";
    /// <summary>Up-down counter ({sequence}): sequences in the decoding batches.</summary>
    public const string GenerationSequences = "modelkit.generation.sequences";
    /// <summary>Histogram ({sequence}): sequences that shared one decoding step.</summary>
    public const string GenerationStepSequences = "modelkit.generation.step.sequences";
    /// <summary>Tag of <see cref="GenerationTokens"/>: <c>prompt</c> or <c>completion</c>.</summary>
    public const string TokenTypeTag = "modelkit.token.type";
}
