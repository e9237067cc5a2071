namespace ModelKit.Dashboard;

/// <summary>The page's panels, in order: their ids (the sections' anchors and the live stream's keys) and titles.</summary>
internal static class Panels
{
    public static readonly (string Id, string Title)[] All =
    [
        ("models", "Models"),
        ("deployments", "Deployments"),
        ("cache", "Cache"),
        ("queues", "Queues"),
        ("throughput", "Throughput and latency"),
        ("system", "System"),
        ("downloads", "Downloads"),
    ];
}
