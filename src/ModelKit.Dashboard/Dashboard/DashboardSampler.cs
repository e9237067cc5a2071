using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using ModelKit.Diagnostics;

namespace ModelKit.Dashboard;

/// <summary>
/// What the charts and the batch-size histograms show: it listens to this app's ModelKit meter (the requests' durations
/// and the batches' sizes, per model) and keeps, per model, one slot per <see cref="SlotLength"/> over the dashboard's
/// history: requests, a latency histogram (for percentiles), and batch sizes. A measurement costs a dictionary lookup
/// and a few interlocked additions; a timer closes the current slot every <see cref="SlotLength"/>. A text generation
/// model's batches are its decoding steps: the sequences that shared one step.
/// </summary>
internal sealed class DashboardSampler : IDisposable
{
    /// <summary>The length of one chart point.</summary>
    public static readonly TimeSpan SlotLength = TimeSpan.FromSeconds(5);

    /// <summary>Upper bounds of the latency buckets, in milliseconds (the last bucket is everything above).</summary>
    internal static readonly double[] LatencyBoundsMs = BuildLatencyBounds();

    /// <summary>Upper bounds of the batch-size buckets (1, 2, 4, …, 128, then more).</summary>
    internal static readonly int[] BatchBounds = [1, 2, 4, 8, 16, 32, 64, 128];

    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly int _slots;
    private readonly object _closing = new();
    private int _disposed;

    public DashboardSampler(IOptions<ModelKitDashboardOptions> options, IMeterFactory? meterFactory = null, TimeProvider? time = null)
    {
        _time = time ?? TimeProvider.System;
        var history = options.Value.History;
        _slots = (int)Math.Clamp(history / SlotLength, 12, 720);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name != ModelKitTelemetry.Name) return;
            // Only this app's meter (in a process with several hosts, each has its own), or any ModelKit meter without a factory.
            if (meterFactory is not null && !ReferenceEquals(instrument.Meter.Scope, meterFactory)) return;
            if (instrument.Name is ModelKitTelemetry.InferenceDuration or ModelKitTelemetry.BatchSize or ModelKitTelemetry.GenerationStepSequences)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>(OnDuration);
        _listener.SetMeasurementEventCallback<int>(OnBatch);
        _listener.Start();
        _timer = _time.CreateTimer(_ => Close(), null, SlotLength, SlotLength);
    }

    /// <summary>The models measured so far.</summary>
    public IEnumerable<string> Models => _series.Keys;

    /// <summary>
    /// A model's closed slots, oldest first (at most the history), each with requests per second, p50 and p95 latency
    /// (null without requests); and the batch sizes over the whole history, the slot still open included.
    /// </summary>
    public ModelHistory? History(string modelId)
    {
        if (!_series.TryGetValue(modelId, out var series)) return null;
        lock (series.Closed)
        {
            var points = series.Closed.Select(s => new HistoryPoint(
                s.At, s.Requests / SlotLength.TotalSeconds, Percentile(s.Latency, s.Latency.Sum(), 0.50), Percentile(s.Latency, s.Latency.Sum(), 0.95))).ToList();
            // Batch sizes include the slot still open, so that the histogram shows batches at once.
            var batches = new long[BatchBounds.Length + 1];
            for (var i = 0; i < batches.Length; i++) batches[i] = Interlocked.Read(ref series.Current.Batches[i]);
            foreach (var slot in series.Closed)
            {
                for (var i = 0; i < batches.Length; i++) batches[i] += slot.Batches[i];
            }

            return new ModelHistory(modelId, points, batches);
        }
    }

    private void OnDuration(Instrument instrument, double seconds, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (ModelOf(tags) is not { } model) return;
        var current = _series.GetOrAdd(model, static _ => new Series()).Current;
        var ms = seconds * 1000;
        var bucket = Array.BinarySearch(LatencyBoundsMs, ms);
        Interlocked.Increment(ref current.Latency[bucket < 0 ? ~bucket : bucket]);
        Interlocked.Increment(ref current.Requests);
    }

    private void OnBatch(Instrument instrument, int size, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (ModelOf(tags) is not { } model) return;
        var current = _series.GetOrAdd(model, static _ => new Series()).Current;
        var bucket = Array.BinarySearch(BatchBounds, size);
        Interlocked.Increment(ref current.Batches[bucket < 0 ? ~bucket : bucket]);
    }

    private static string? ModelOf(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var tag in tags)
        {
            if (tag.Key == ModelKitTelemetry.ModelTag) return tag.Value as string;
        }

        return null;
    }

    // Moves each model's current counts into a closed slot (a measurement that lands between the read and the reset of
    // one counter goes to the next slot), dropping slots older than the history.
    internal void Close()
    {
        lock (_closing)
        {
            var at = _time.GetUtcNow();
            foreach (var series in _series.Values)
            {
                var slot = series.Current.TakeAll(at);
                lock (series.Closed)
                {
                    series.Closed.Enqueue(slot);
                    while (series.Closed.Count > _slots) series.Closed.Dequeue();
                }
            }
        }
    }

    // The value below which the given share of the requests fell, from the bucket counts: the bucket's upper bound (the
    // last, open bucket reports its lower bound).
    internal static double? Percentile(long[] buckets, long total, double share)
    {
        if (total <= 0) return null;
        var wanted = (long)Math.Ceiling(total * share);
        long seen = 0;
        for (var i = 0; i < buckets.Length; i++)
        {
            seen += buckets[i];
            if (seen >= wanted) return LatencyBoundsMs[Math.Min(i, LatencyBoundsMs.Length - 1)];
        }

        return LatencyBoundsMs[^1];
    }

    // 0.05 ms to about 100 s, four buckets per doubling (each bound 19 % above the last).
    private static double[] BuildLatencyBounds()
    {
        var bounds = new List<double>();
        for (var v = 0.05; v < 120_000; v *= Math.Pow(2, 0.25)) bounds.Add(Math.Round(v, 3));
        return [.. bounds];
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _timer.Dispose();
        _listener.Dispose();
    }

    private sealed class Series
    {
        public readonly Counts Current = new();
        public readonly Queue<Slot> Closed = new();
    }

    private sealed class Counts
    {
        public long Requests;
        public readonly long[] Latency = new long[LatencyBoundsMs.Length + 1];
        public readonly long[] Batches = new long[BatchBounds.Length + 1];

        public Slot TakeAll(DateTimeOffset at)
        {
            var latency = new long[Latency.Length];
            for (var i = 0; i < latency.Length; i++) latency[i] = Interlocked.Exchange(ref Latency[i], 0);
            var batches = new long[Batches.Length];
            for (var i = 0; i < batches.Length; i++) batches[i] = Interlocked.Exchange(ref Batches[i], 0);
            return new Slot(at, Interlocked.Exchange(ref Requests, 0), latency, batches);
        }
    }

    private sealed record Slot(DateTimeOffset At, long Requests, long[] Latency, long[] Batches);
}

/// <summary>One chart point: the end of its slot, requests per second, and the p50 and p95 latency in ms (null without requests).</summary>
internal sealed record HistoryPoint(DateTimeOffset At, double RequestsPerSecond, double? P50Ms, double? P95Ms);

/// <summary>A model's chart points, oldest first, and its batch sizes over them (counts per <see cref="DashboardSampler.BatchBounds"/> bucket, then above).</summary>
internal sealed record ModelHistory(string ModelId, IReadOnlyList<HistoryPoint> Points, long[] BatchSizes);
