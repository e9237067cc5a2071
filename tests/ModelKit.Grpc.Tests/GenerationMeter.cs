using System.Diagnostics;
using System.Diagnostics.Metrics;
using ModelKit.Diagnostics;

namespace ModelKit.Grpc.Tests;

/// <summary>
/// A server's text generation seen through its own meter: the changes in the number of sequences in the decoding batch,
/// and the completion tokens generated. The engine reports a change after each of its steps, so a sequence that finished
/// is counted out a moment after its caller has the answer. <see cref="SettleAsync"/> waits for those late reports;
/// <see cref="Watch"/> then starts watching the next sequence: <see cref="Started"/> when one joins the batch,
/// <see cref="Left"/> when the batch shrinks after that, and <see cref="Generated"/> counts its tokens.
/// </summary>
internal sealed class GenerationMeter : IDisposable
{
    private readonly MeterListener _listener;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _left = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _lastChange = Stopwatch.GetTimestamp();
    private long _generated;
    private int _watching;

    public GenerationMeter(IMeterFactory factory)
    {
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Scope == factory && instrument.Name is ModelKitTelemetry.GenerationSequences or ModelKitTelemetry.GenerationTokens)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<int>((_, change, _, _) =>
        {
            Volatile.Write(ref _lastChange, Stopwatch.GetTimestamp());
            if (Volatile.Read(ref _watching) == 0) return;
            if (change > 0) _started.TrySetResult();
            else if (change < 0 && _started.Task.IsCompleted) _left.TrySetResult();
        });
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: ModelKitTelemetry.TokenTypeTag, Value: "completion" }) Interlocked.Add(ref _generated, value);
            }
        });
        _listener.Start();
    }

    /// <summary>A sequence joined the batch after <see cref="Watch"/>.</summary>
    public Task Started => _started.Task;

    /// <summary>The batch shrank after <see cref="Started"/>: the watched sequence left it (nothing else generates meanwhile).</summary>
    public Task Left => _left.Task;

    /// <summary>Completion tokens generated since <see cref="Watch"/>.</summary>
    public long Generated => Interlocked.Read(ref _generated);

    /// <summary>Waits until the batch's size has not changed for <paramref name="quiet"/> (at most 30 s).</summary>
    public async Task SettleAsync(TimeSpan quiet)
    {
        var waited = Stopwatch.StartNew();
        while (Stopwatch.GetElapsedTime(Volatile.Read(ref _lastChange)) < quiet)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(30), "the generation batch kept changing for 30 s");
            await Task.Delay(20);
        }
    }

    /// <summary>From now on: the next sequence to join, its leaving, and the tokens generated.</summary>
    public void Watch()
    {
        Interlocked.Exchange(ref _generated, 0);
        Volatile.Write(ref _watching, 1);
    }

    public void Dispose() => _listener.Dispose();
}
