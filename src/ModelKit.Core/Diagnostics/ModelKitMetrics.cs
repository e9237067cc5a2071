using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ModelKit.Diagnostics;

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
