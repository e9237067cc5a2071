using System.Diagnostics.Metrics;
using ModelKit.Diagnostics;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>Text generation's instruments, on ModelKit's meter (<see cref="ModelKitTelemetry.Name"/>).</summary>
internal sealed class GenerationMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    public GenerationMetrics(IMeterFactory? meterFactory = null)
    {
        _ownsMeter = meterFactory is null; // a factory's meter is shared with Core's instruments and the factory disposes it
        _meter = meterFactory?.Create(ModelKitTelemetry.Name) ?? new Meter(ModelKitTelemetry.Name);
        Tokens = _meter.CreateCounter<long>(ModelKitTelemetry.GenerationTokens, "{token}", "Tokens read (prompt) and generated (completion) by text generation.");
        TimeToFirstToken = _meter.CreateHistogram<double>(ModelKitTelemetry.TimeToFirstToken, "s", "Time from a generation's arrival to its first token.");
        Sequences = _meter.CreateUpDownCounter<int>(ModelKitTelemetry.GenerationSequences, "{sequence}", "Sequences in the decoding batches.");
        StepSequences = _meter.CreateHistogram<int>(ModelKitTelemetry.GenerationStepSequences, "{sequence}", "Sequences that shared one decoding step.");
        Duration = RequestDurations.Create(_meter);
    }

    public Counter<long> Tokens { get; }
    public Histogram<double> TimeToFirstToken { get; }
    public UpDownCounter<int> Sequences { get; }
    public Histogram<int> StepSequences { get; }

    /// <summary>A completion's time from arrival to its last choice's end (<see cref="ModelKitTelemetry.InferenceDuration"/>).</summary>
    public Histogram<double> Duration { get; }

    public void Dispose()
    {
        if (_ownsMeter) _meter.Dispose();
    }
}
