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
}

/// <summary>ModelKit's instruments, created once per meter factory (or standalone without DI).</summary>
public sealed class ModelKitMetrics : IDisposable
{
    private readonly Meter _meter;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/>, or on an own meter when null.</summary>
    public ModelKitMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(ModelKitTelemetry.Name) ?? new Meter(ModelKitTelemetry.Name);
        InferenceDuration = _meter.CreateHistogram<double>(ModelKitTelemetry.InferenceDuration, "s", "Time from submission to result, per request.");
        BatchSize = _meter.CreateHistogram<int>(ModelKitTelemetry.BatchSize, "{request}", "Requests merged into one backend run.");
        QueueLength = _meter.CreateUpDownCounter<int>(ModelKitTelemetry.QueueLength, "{request}", "Requests waiting in queues.");
        QueueRejections = _meter.CreateCounter<long>(ModelKitTelemetry.QueueRejections, "{request}", "Requests rejected because a queue was full.");
        CacheHits = _meter.CreateCounter<long>(ModelKitTelemetry.CacheHits, "{lease}", "Cache lookups that found a loaded model.");
        CacheMisses = _meter.CreateCounter<long>(ModelKitTelemetry.CacheMisses, "{lease}", "Cache lookups that had to load or wait.");
        CacheEvictions = _meter.CreateCounter<long>(ModelKitTelemetry.CacheEvictions, "{model}", "Models evicted from the cache.");
        CacheMemoryUsage = _meter.CreateUpDownCounter<long>(ModelKitTelemetry.CacheMemoryUsage, "By", "Memory held by cached models.");
        ModelLoadDuration = _meter.CreateHistogram<double>(ModelKitTelemetry.ModelLoadDuration, "s", "Time to load a model into a session.");
    }

    /// <summary>The activity source named <c>ModelKit</c>.</summary>
    public static ActivitySource ActivitySource { get; } = new(ModelKitTelemetry.Name);

    internal Histogram<double> InferenceDuration { get; }
    internal Histogram<int> BatchSize { get; }
    internal UpDownCounter<int> QueueLength { get; }
    internal Counter<long> QueueRejections { get; }
    internal Counter<long> CacheHits { get; }
    internal Counter<long> CacheMisses { get; }
    internal Counter<long> CacheEvictions { get; }
    internal UpDownCounter<long> CacheMemoryUsage { get; }
    internal Histogram<double> ModelLoadDuration { get; }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
