using Microsoft.Extensions.Diagnostics.HealthChecks;
using ModelKit.Deployments;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// The deployments' rule of seed 004's system health: degraded while any deployment has failed (the others keep
/// serving), healthy otherwise. Its data counts the deployments by state and lists the failed ones with their reasons.
/// Not part of readiness: a failed deployment does not stop the others from serving.
/// </summary>
internal sealed class DeploymentsHealthCheck(IDeploymentManager deployments) : IHealthCheck
{
    /// <summary>The check's name.</summary>
    public const string Name = "deployments";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var all = deployments.ListDeployments();
        var byState = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var failed = new List<Dictionary<string, object?>>();
        foreach (var d in all)
        {
            var state = DeploymentManager.Name(d.State);
            byState[state] = byState.GetValueOrDefault(state) + 1;
            if (d.State == DeploymentState.Failed)
            {
                failed.Add(new Dictionary<string, object?> { ["deployment_id"] = d.DeploymentId, ["model_id"] = d.ModelId, ["reason"] = d.FailureReason });
            }
        }

        var data = new Dictionary<string, object> { ["by_state"] = byState, ["failed"] = failed.ToArray() };
        return Task.FromResult(failed.Count == 0
            ? HealthCheckResult.Healthy($"{all.Count} deployment(s), none failed.", data)
            : HealthCheckResult.Degraded($"{failed.Count} of {all.Count} deployment(s) failed; the others serve.", data: data));
    }
}
