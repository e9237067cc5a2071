using System.Globalization;
using ScottPlot;

namespace ModelKit.Benchmarks;

/// <summary>
/// Charts of benchmarks/peers/compare-rest.sh's results.csv (model, surface, server, connections, round,
/// requests_per_second, p50_ms, p95_ms, p99_ms, errors), as SVG per model: throughput against connections per server
/// (ModelKit once per surface; the mean of the measured rounds), latency percentiles per server at 64 connections (else
/// the first count), and each server's first window after start-up next to its measured mean (the warm-up). PNG when asked for.
/// The gRPC surfaces (grpc, grpc-raw: ModelKit's and the peers' ModelInfer) get charts of their own, named <c>grpc-…</c>
/// beside the HTTP/1.1 ones (<c>rest-…</c>).
/// </summary>
internal static class RestCharts
{
    private sealed record Row(string Model, string Surface, string Server, int Connections, string Round, double Rps, double P50, double P95, double P99);

    public static int Render(string csvPath, string outDirectory, string caption, string format = "svg")
    {
        var rows = File.ReadLines(csvPath).Skip(1).Where(l => l.Length > 0).Select(Parse).ToList();
        if (rows.Count == 0)
        {
            Console.Error.WriteLine($"{csvPath} holds no results.");
            return 1;
        }

        Directory.CreateDirectory(outDirectory);
        foreach (var (protocol, ofProtocol) in rows.GroupBy(r => r.Surface.StartsWith("grpc", StringComparison.Ordinal) ? "grpc" : "rest").Select(g => (g.Key, g.ToList())))
        {
            foreach (var model in ofProtocol.Select(r => r.Model).Distinct())
            {
                Charts(ofProtocol.Where(r => r.Model == model).ToList(), model, protocol, outDirectory, caption, format);
            }
        }

        return 0;
    }

    // The three charts of one model over one protocol's surfaces.
    private static void Charts(List<Row> ofModel, string model, string protocol, string outDirectory, string caption, string format)
    {
        var name = protocol == "grpc" ? $"{model} over gRPC" : model;
        var servers = ofModel.Select(r => r.Server).Distinct().ToList();
        var counts = ofModel.Select(r => r.Connections).Distinct().Order().ToList();
        var main = ofModel.FirstOrDefault(r => r.Round == "first")?.Connections ?? counts[0]; // where the warm-up window is
        var goal = counts.Contains(64) ? 64 : main; // the goals are at 64 connections
        List<Row> Measured(string server, int count) => [.. ofModel.Where(r => r.Server == server && r.Connections == count && r.Round != "first")];

        // Against connections only where several counts were measured (the warm-up chart has each server's mean as a bar).
        var throughput = Path.Combine(outDirectory, $"{protocol}-{model}-throughput.{format}");
        if (counts.Count > 1) Lines(throughput, $"{name}: requests per second against connections ({caption})", counts, servers, (s, c) => Mean(Measured(s, c), r => r.Rps));
        var latency = Path.Combine(outDirectory, $"{protocol}-{model}-latency.{format}");
        Grouped(
            latency, $"{name}: latency at {goal} connections, mean over measured rounds ({caption})", "milliseconds", servers,
            [("p50", s => Mean(Measured(s, goal), r => r.P50)), ("p95", s => Mean(Measured(s, goal), r => r.P95)), ("p99", s => Mean(Measured(s, goal), r => r.P99))]);
        var warmup = Path.Combine(outDirectory, $"{protocol}-{model}-warmup.{format}");
        Grouped(
            warmup, $"{name}: requests per second at {main} connections, first window after start-up and measured ({caption})", "requests/s", servers,
            [("measured rounds (mean)", s => Mean(Measured(s, main), r => r.Rps)), ("first window after start-up", s => ofModel.FirstOrDefault(r => r.Server == s && r.Round == "first")?.Rps ?? 0)]);
        Console.WriteLine(counts.Count > 1 ? $"wrote {throughput}, {latency} and {warmup}" : $"wrote {latency} and {warmup}");
    }

    private static double Mean(List<Row> rows, Func<Row, double> value) => rows.Count == 0 ? double.NaN : rows.Average(value);

    // One line per server over the connection counts (evenly spaced, labelled with the count).
    private static void Lines(string path, string title, List<int> counts, List<string> servers, Func<string, int, double> value)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double[] xs = [.. counts.Select((_, i) => (double)i)];
        for (var s = 0; s < servers.Count; s++)
        {
            double[] ys = [.. counts.Select(c => value(servers[s], c))];
            var line = plot.Add.Scatter(xs, ys, palette.GetColor(s));
            line.LegendText = servers[s];
            line.LineWidth = servers[s].StartsWith("modelkit", StringComparison.Ordinal) ? 3 : 1.5f;
            line.MarkerSize = 7;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. counts.Select((c, i) => new Tick(i, c.ToString(CultureInfo.InvariantCulture)))]);
        plot.Axes.Margins(left: 0.1, right: 0.1);
        plot.Axes.AutoScale();
        plot.Axes.SetLimitsY(0, plot.Axes.GetLimits().Top * 1.05); // from zero: the ratios read off the heights
        plot.Legend.Alignment = Alignment.UpperLeft;
        plot.ShowLegend();
        plot.Title(title);
        plot.XLabel("connections (wrk -t2)");
        plot.YLabel("requests/s");
        Save(plot, path);
    }

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
        Tick[] ticks = [.. servers.Select((name, s) => new Tick((s * (series.Length + 1)) + ((series.Length - 1) / 2.0), TwoLines(name)))];
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
        Save(plot, path);
    }

    // A server's label with its surface on a second line (modelkit-grpc-raw → modelkit / grpc-raw), so that labels side by side do not overlap.
    private static string TwoLines(string server)
    {
        foreach (var surface in (string[])["-oip-json", "-oip-binary", "-grpc-raw", "-grpc"])
        {
            if (server.EndsWith(surface, StringComparison.Ordinal)) return server[..^surface.Length] + "\n" + surface[1..];
        }

        return server;
    }

    private static void Save(Plot plot, string path)
    {
        if (path.EndsWith(".png", StringComparison.Ordinal)) plot.SavePng(path, 900, 480);
        else plot.SaveSvg(path, 900, 480);
    }

    private static Row Parse(string line)
    {
        var f = line.Split(',');
        double D(int i) => double.Parse(f[i], CultureInfo.InvariantCulture);
        return new Row(f[0], f[1], f[2], int.Parse(f[3], CultureInfo.InvariantCulture), f[4], D(5), D(6), D(7), D(8));
    }
}
