using System.Diagnostics.Metrics;
using ModelKit.Diagnostics;

namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>
/// Request latency for <c>GET /inference/stats</c>, measured by listening to ModelKit's own
/// <c>modelkit.inference.duration</c> histogram (every inference of the host, whichever surface it came through) on the
/// host's meter (the one the host's <see cref="IMeterFactory"/> created). Counts from the moment
/// the surface was mapped: count, mean, min, max, and percentiles over the last <see cref="Window"/> requests.
/// </summary>
internal sealed class InferenceLatency : IDisposable
{
    /// <summary>How many recent durations the percentiles are taken over.</summary>
    public const int Window = 1024;

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly double[] _recent = new double[Window];
    private long _count;
    private double _sum;
    private double _min = double.PositiveInfinity;
    private double _max;

    public InferenceLatency(object? meterScope, DateTimeOffset since)
    {
        Since = since;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ModelKitTelemetry.Name && instrument.Name == ModelKitTelemetry.InferenceDuration && ReferenceEquals(instrument.Meter.Scope, meterScope))
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<double>(static (_, seconds, _, state) => ((InferenceLatency)state!).Record(seconds));
        _listener.Start();
    }

    /// <summary>When counting began.</summary>
    public DateTimeOffset Since { get; }

    private void Record(double seconds)
    {
        lock (_gate)
        {
            _recent[_count % Window] = seconds;
            _count++;
            _sum += seconds;
            if (seconds < _min) _min = seconds;
            if (seconds > _max) _max = seconds;
        }
    }

    /// <summary>The numbers so far (all null until the first request).</summary>
    public LatencyStats Snapshot()
    {
        double[] recent;
        long count;
        double sum, min, max;
        lock (_gate)
        {
            count = _count;
            sum = _sum;
            min = _min;
            max = _max;
            recent = _recent[..(int)Math.Min(count, Window)];
        }

        if (count == 0) return new LatencyStats { Since = InferenceApiClock.Seconds(Since) };
        Array.Sort(recent);
        return new LatencyStats
        {
            Count = count,
            AverageMs = sum / count * 1000,
            MinMs = min * 1000,
            MaxMs = max * 1000,
            P50Ms = Percentile(recent, 0.50),
            P95Ms = Percentile(recent, 0.95),
            P99Ms = Percentile(recent, 0.99),
            Window = recent.Length,
            Since = InferenceApiClock.Seconds(Since),
        };
    }

    // Nearest rank over the sorted window, in milliseconds.
    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)] * 1000;

    public void Dispose() => _listener.Dispose();
}

/// <summary>
/// <c>stats.latency</c>: requests timed since <c>since</c> (Unix seconds), mean/min/max in milliseconds, and the 50th, 95th
/// and 99th percentile over the last <c>window</c> requests. Null figures until a request has run.
/// </summary>
internal sealed record LatencyStats
{
    public long Count { get; init; }
    public double? AverageMs { get; init; }
    public double? MinMs { get; init; }
    public double? MaxMs { get; init; }
    public double? P50Ms { get; init; }
    public double? P95Ms { get; init; }
    public double? P99Ms { get; init; }
    public int Window { get; init; }
    public double Since { get; init; }
}
