using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelKit.Dashboard;
using ModelKit.Diagnostics;

namespace ModelKit.Tests.Dashboard;

/// <summary>
/// The dashboard's sampler against real meters: it counts its own app's ModelKit meter only, turns a slot's durations
/// into requests per second and p50/p95 within a bucket's width, and sorts batch sizes into their buckets.
/// </summary>
public sealed class DashboardSamplerTests
{
    private static IMeterFactory NewMeterFactory() => new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>();

    [Fact]
    public void ASlotsRequestsAndPercentiles_ComeFromThisAppsMeterOnly()
    {
        var mine = NewMeterFactory();
        var other = NewMeterFactory();
        using var sampler = new DashboardSampler(Options.Create(new ModelKitDashboardOptions()), mine);
        var durations = mine.Create(ModelKitTelemetry.Name).CreateHistogram<double>(ModelKitTelemetry.InferenceDuration);
        var batches = mine.Create(ModelKitTelemetry.Name).CreateHistogram<int>(ModelKitTelemetry.BatchSize);
        var elsewhere = other.Create(ModelKitTelemetry.Name).CreateHistogram<double>(ModelKitTelemetry.InferenceDuration);
        var model = new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, "m");

        for (var i = 0; i < 90; i++) durations.Record(0.001, model); // 1 ms
        for (var i = 0; i < 10; i++) durations.Record(0.050, model); // 50 ms
        for (var i = 0; i < 1000; i++) elsewhere.Record(5.0, model);  // another app's: not counted
        for (var i = 0; i < 3; i++) batches.Record(3, model);
        batches.Record(200, model);
        sampler.Close();

        var history = sampler.History("m")!;
        var point = Assert.Single(history.Points);
        Assert.Equal(100 / DashboardSampler.SlotLength.TotalSeconds, point.RequestsPerSecond);
        Assert.InRange(point.P50Ms!.Value, 1.0, 1.0 * 1.19);
        Assert.InRange(point.P95Ms!.Value, 50.0, 50.0 * 1.19);
        Assert.Equal([0, 0, 3, 0, 0, 0, 0, 0, 1], history.BatchSizes); // 3 in "3 to 4", 200 above 128

        // An empty slot: no requests, no percentiles.
        sampler.Close();
        var quiet = sampler.History("m")!.Points[^1];
        Assert.Equal(0, quiet.RequestsPerSecond);
        Assert.Null(quiet.P50Ms);
        Assert.Null(quiet.P95Ms);
        Assert.Null(sampler.History("not-measured"));
    }
}
