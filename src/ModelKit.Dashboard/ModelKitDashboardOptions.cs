namespace ModelKit.Dashboard;

/// <summary>The dashboard's settings (<c>AddDashboard(o => …)</c>, or the <c>ModelKit:Dashboard</c> section in the sample).</summary>
public sealed class ModelKitDashboardOptions
{
    /// <summary>How often an open page receives new figures. Default 1 s; at least 250 ms.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How far back the throughput and latency charts reach. Default 5 minutes; 1 to 60 minutes.</summary>
    public TimeSpan History { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a login lasts before the key is asked for again (the cookie itself ends with the browser session). Default 8 hours.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Log lines shown per deployment. Default 20; 1 to 500.</summary>
    public int LogLines { get; set; } = 20;
}
