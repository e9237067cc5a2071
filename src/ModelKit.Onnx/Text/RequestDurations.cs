using System.Diagnostics.Metrics;
using ModelKit.Diagnostics;

namespace ModelKit.Onnx.Text;

/// <summary>
/// The per-request duration (<see cref="ModelKitTelemetry.InferenceDuration"/>, tagged with the model) for the text
/// services, which run their models through the router rather than the inference service that records it for tensors:
/// an embeddings request and a completion count as one request each, from arrival to the whole result.
/// </summary>
internal sealed class RequestDurations : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public RequestDurations(IMeterFactory? meterFactory)
    {
        _ownsMeter = meterFactory is null; // a factory's meter is shared with Core's instruments and the factory disposes it
        _meter = meterFactory?.Create(ModelKitTelemetry.Name) ?? new Meter(ModelKitTelemetry.Name);
        Histogram = Create(_meter);
    }

    public Histogram<double> Histogram { get; }

    /// <summary>The instrument on the given meter, described as Core describes it (so a meter that already has it returns the same one).</summary>
    public static Histogram<double> Create(Meter meter) =>
        meter.CreateHistogram<double>(ModelKitTelemetry.InferenceDuration, "s", "Time from submission to result, per request.");

    public void Record(TimeSpan elapsed, string modelId) =>
        Histogram.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, modelId));

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
