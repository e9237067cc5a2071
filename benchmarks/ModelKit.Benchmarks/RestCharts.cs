using System.Globalization;
using ScottPlot;

namespace ModelKit.Benchmarks;

/// <summary>
/// Charts of benchmarks/peers/compare-rest.sh's results.csv (model, server, round, requests_per_second, p50_ms, p95_ms,
/// p99_ms, errors), as SVG per model: throughput per server (the mean of the measured rounds next to the first,
/// warm-up window) and latency percentiles per server (the mean over the measured rounds). PNG when asked for.
/// </summary>
internal static class RestCharts
{
    private sealed record Row(string Model, string Server, string Round, double Rps, double P50, double P95, double P99);

    public static int Render(string csvPath, string outDirectory, string caption, string format = "svg")
    {
        var rows = File.ReadLines(csvPath).Skip(1).Where(l => l.Length > 0).Select(Parse).ToList();
        if (rows.Count == 0)
        {
            Console.Error.WriteLine($"{csvPath} holds no results.");
            return 1;
        }

        Directory.CreateDirectory(outDirectory);
        foreach (var model in rows.Select(r => r.Model).Distinct())
        {
            var ofModel = rows.Where(r => r.Model == model).ToList();
            var servers = ofModel.Select(r => r.Server).Distinct().ToList();
            var measured = servers.ToDictionary(s => s, s => ofModel.Where(r => r.Server == s && r.Round != "first").ToList());
            var first = servers.ToDictionary(s => s, s => ofModel.FirstOrDefault(r => r.Server == s && r.Round == "first"));

            var throughput = Path.Combine(outDirectory, $"rest-{model}-throughput.{format}");
            Grouped(
                throughput, $"{model}: requests per second ({caption})", "requests/s", servers,
                [("measured rounds (mean)", s => Mean(measured[s], r => r.Rps)), ("first window after ready", s => first[s]?.Rps ?? 0)]);
            var latency = Path.Combine(outDirectory, $"rest-{model}-latency.{format}");
            Grouped(
                latency, $"{model}: latency, mean over measured rounds ({caption})", "milliseconds", servers,
                [("p50", s => Mean(measured[s], r => r.P50)), ("p95", s => Mean(measured[s], r => r.P95)), ("p99", s => Mean(measured[s], r => r.P99))]);
            Console.WriteLine($"wrote {throughput} and {latency}");
        }

        return 0;
    }

    private static double Mean(List<Row> rows, Func<Row, double> value) => rows.Count == 0 ? 0 : rows.Average(value);

    // One group of bars per server, one bar per series.
    private static void Grouped(string path, string title, string unit, List<string> servers, (string Name, Func<string, double> Value)[] series)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<Bar>();
        for (var s = 0; s < servers.Count; s++)
        {
            for (var k = 0; k < series.Length; k++)
            {
                bars.Add(new Bar
                {
                    Position = (s * (series.Length + 1)) + k,
                    Value = series[k].Value(servers[s]),
                    FillColor = palette.GetColor(k),
                });
            }
        }

        plot.Add.Bars(bars);
        Tick[] ticks = [.. servers.Select((name, s) => new Tick((s * (series.Length + 1)) + ((series.Length - 1) / 2.0), name))];
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(ticks);
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.Axes.Margins(bottom: 0);
        for (var k = 0; k < series.Length; k++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[k].Name, FillColor = palette.GetColor(k) });
        }

        plot.Legend.Alignment = Alignment.UpperRight;
        plot.ShowLegend();
        plot.Title(title);
        plot.YLabel(unit);
        if (path.EndsWith(".png", StringComparison.Ordinal)) plot.SavePng(path, 900, 480);
        else plot.SaveSvg(path, 900, 480);
    }

    private static Row Parse(string line)
    {
        var f = line.Split(',');
        double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        return new Row(f[0], f[1], f[2], D(3), D(4), D(5), D(6));
    }
}
