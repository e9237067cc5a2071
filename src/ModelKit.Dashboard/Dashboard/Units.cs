using System.Globalization;

namespace ModelKit.Dashboard;

/// <summary>Numbers as the page shows them, with their units (invariant culture, so that every browser reads the same).</summary>
internal static class Units
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static string Bytes(long? bytes) => bytes switch
    {
        null => "—",
        < 1024 * 1024 => ((double)bytes / 1024).ToString("0.0", Culture) + " KB",
        < 1024L * 1024 * 1024 => ((double)bytes / (1024 * 1024)).ToString("0.0", Culture) + " MB",
        _ => ((double)bytes / (1024L * 1024 * 1024)).ToString("0.00", Culture) + " GB",
    };

    public static string Ms(double? ms) => ms switch
    {
        null => "—",
        < 1 => ms.Value.ToString("0.00", Culture) + " ms",
        < 100 => ms.Value.ToString("0.0", Culture) + " ms",
        _ => ms.Value.ToString("0", Culture) + " ms",
    };

    public static string Duration(TimeSpan? duration) => duration is { } d ? d.TotalSeconds >= 10 ? Left(d) : Ms(d.TotalMilliseconds) : "—";

    /// <summary>A time still to go, to the second: "45 s", "12 min 5 s", "2 h 3 min".</summary>
    public static string Left(TimeSpan? left) => left switch
    {
        null => "—",
        { TotalSeconds: < 60 } l => $"{(int)l.TotalSeconds} s",
        { TotalHours: < 1 } l => $"{l.Minutes} min {l.Seconds} s",
        { } l => $"{(int)l.TotalHours} h {l.Minutes} min",
    };

    public static string Rate(double perSecond) => perSecond.ToString(perSecond < 10 ? "0.0" : "0", Culture) + " req/s";

    public static string BytesRate(double perSecond) => Bytes((long)perSecond) + "/s";

    public static string Percent(double percent) => percent.ToString("0.0", Culture) + " %";

    public static string Count(long count) => count.ToString("#,0", Culture);

    public static string Time(DateTimeOffset? at) => at is { } t ? t.ToUniversalTime().ToString("HH:mm:ss", Culture) + " UTC" : "—";

    public static string Number(double value) => value.ToString("0.##", Culture);
}
