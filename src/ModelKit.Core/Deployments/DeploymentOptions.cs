namespace ModelKit.Deployments;

/// <summary>Settings of the deployment manager.</summary>
public sealed class DeploymentOptions
{
    /// <summary>Log lines kept per deployment (oldest dropped first). Default: 200.</summary>
    public int MaxLogEntries { get; set; } = 200;

    /// <summary>How often the autoscaler looks at queue depths. Default: 2 s.</summary>
    public TimeSpan AutoscaleInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive idle looks (empty queue, a replica unused) before one replica is removed. Default: 5.</summary>
    public int ScaleDownAfterIdleChecks { get; set; } = 5;

    /// <summary>How long stopping waits for queued and running requests before failing the rest. Default: 30 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Runs one request of zeros through a freshly loaded model before it takes traffic. Default: true.</summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>
    /// Saves deployments to <c>deployments.json</c> under <see cref="ModelKitOptions.DataDirectory"/> after every change,
    /// and brings them back when the host starts (<see cref="DeploymentManager.RestoreAsync"/>). Default: true.
    /// </summary>
    public bool Persist { get; set; } = true;
}
