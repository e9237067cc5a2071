using System.Diagnostics;
using System.Diagnostics.Metrics;
using ModelKit.Diagnostics;

namespace ModelKit.Cluster;

/// <summary>
/// The cluster's instruments, on ModelKit's meter (<see cref="ModelKitTelemetry.Name"/>): forward attempts from this node
/// to another (a retried request counts once per attempt), and attempts that failed because the holder was gone or could
/// not serve the model (each then tried on the next holder, or here), and route refreshes (this node asking the registry
/// and placement again where a model is served: about once per model per PlacementCacheInterval while it is requested).
/// In Prometheus: <c>modelkit_cluster_forwarded_total</c>, <c>modelkit_cluster_forward_failures_total</c> and
/// <c>modelkit_cluster_route_refreshes_total</c>.
/// </summary>
internal sealed class ClusterMetrics
{
    public const string Forwarded = "modelkit.cluster.forwarded";
    public const string ForwardFailures = "modelkit.cluster.forward_failures";
    public const string RouteRefreshes = "modelkit.cluster.route_refreshes";

    private readonly Counter<long> _forwarded;
    private readonly Counter<long> _failures;
    private readonly Counter<long> _refreshes;

    public ClusterMetrics(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(ModelKitTelemetry.Name) ?? new Meter(ModelKitTelemetry.Name);
        _forwarded = meter.CreateCounter<long>(Forwarded, "{request}", "Requests this node forwarded to the node holding their model.");
        _failures = meter.CreateCounter<long>(ForwardFailures, "{request}", "Forwards that failed because the holding node was gone or unreachable.");
        _refreshes = meter.CreateCounter<long>(RouteRefreshes, "{refresh}", "Times this node asked the registry and the cluster's placement again where a model is served.");
    }

    public void OnForwarded(string modelId) => _forwarded.Add(1, new TagList { { ModelKitTelemetry.ModelTag, modelId } });

    public void OnRouteRefresh(string modelId) => _refreshes.Add(1, new TagList { { ModelKitTelemetry.ModelTag, modelId } });

    public void OnForwardFailed(string modelId) => _failures.Add(1, new TagList { { ModelKitTelemetry.ModelTag, modelId } });
}
