namespace ModelKit.Deployments;

/// <summary>Makes model versions servable: replicas, autoscaling, devices, batching, rolling updates.</summary>
public interface IDeploymentManager
{
    /// <summary>
    /// Validates <paramref name="spec"/> and starts bringing the deployment up in the background; returns it in
    /// <see cref="DeploymentState.Pending"/>. Errors: MODEL_NOT_FOUND, INVALID_MODEL_CONFIG (bad settings),
    /// CONFLICT (the model is already deployed), INSUFFICIENT_RESOURCES (the memory request does not fit),
    /// DEVICE_UNAVAILABLE (an unknown device name).
    /// </summary>
    Task<DeploymentInfo> DeployAsync(DeploymentSpec spec, CancellationToken cancellationToken = default);

    /// <summary>Waits until the deployment runs; DEPLOYMENT_FAILED when it fails, CONFLICT when it is stopped first.</summary>
    Task<DeploymentInfo> WaitUntilRunningAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>The deployment, or DEPLOYMENT_NOT_FOUND.</summary>
    DeploymentInfo GetDeployment(string deploymentId);

    /// <summary>The deployment, or null.</summary>
    DeploymentInfo? FindDeployment(string deploymentId);

    /// <summary>The deployment that serves <paramref name="modelId"/> (not stopped or failed), or null.</summary>
    DeploymentInfo? FindByModel(string modelId);

    /// <summary>Every deployment, optionally only those in <paramref name="state"/>, oldest first.</summary>
    IReadOnlyList<DeploymentInfo> ListDeployments(DeploymentState? state = null);

    /// <summary>The newest <paramref name="lines"/> log lines, oldest first.</summary>
    IReadOnlyList<DeploymentLogEntry> GetLogs(string deploymentId, int lines = 100);

    /// <summary>Sets the desired replicas (and optionally the bounds) at once, without reloading.</summary>
    DeploymentInfo Scale(string deploymentId, int replicas, int? minReplicas = null, int? maxReplicas = null);

    /// <summary>
    /// As <see cref="Scale"/>, for managers whose deployments may live elsewhere (a cluster's, where the deployment's
    /// node is asked). The default runs <see cref="Scale"/>.
    /// </summary>
    Task<DeploymentInfo> ScaleAsync(string deploymentId, int replicas, int? minReplicas = null, int? maxReplicas = null, CancellationToken cancellationToken = default) =>
        Task.FromResult(Scale(deploymentId, replicas, minReplicas, maxReplicas));

    /// <summary>As <see cref="GetLogs"/>, for managers whose deployments may live elsewhere. The default runs <see cref="GetLogs"/>.</summary>
    Task<IReadOnlyList<DeploymentLogEntry>> GetLogsAsync(string deploymentId, int lines = 100, CancellationToken cancellationToken = default) =>
        Task.FromResult(GetLogs(deploymentId, lines));

    /// <summary>
    /// Applies <paramref name="update"/>; completes when the new settings serve. When the new version fails to
    /// come up, the old one keeps serving and DEPLOYMENT_FAILED is thrown.
    /// </summary>
    Task<DeploymentInfo> UpdateAsync(string deploymentId, DeploymentUpdate update, CancellationToken cancellationToken = default);

    /// <summary>Stops serving: new requests are refused, queued and running ones finish (up to the drain timeout). The record stays.</summary>
    Task<DeploymentInfo> StopAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>Brings a stopped or failed deployment up again (in the background, like <see cref="DeployAsync"/>).</summary>
    Task<DeploymentInfo> StartAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stops the deployment (draining what it accepted) and brings it up again in the background from the registry's
    /// current record of its version; returns while it comes up. A stopped or failed deployment just starts.
    /// </summary>
    Task<DeploymentInfo> RestartAsync(string deploymentId, CancellationToken cancellationToken = default);

    /// <summary>The model's active deployment, else its most recently created one (stopped or failed), else null.</summary>
    DeploymentInfo? FindLatestByModel(string modelId);

    /// <summary>Stops (if needed), unloads the model and forgets the deployment.</summary>
    Task DeleteAsync(string deploymentId, CancellationToken cancellationToken = default);
}
