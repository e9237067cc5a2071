using Microsoft.Extensions.Logging;

namespace ModelKit.Deployments;

// Replicas: the autoscaler on queue depth, scaling, and the pin that min_replicas > 0 holds.
public sealed partial class DeploymentManager
{
    /// <summary>Looks at every autoscaled deployment once (the timer calls it every <see cref="DeploymentOptions.AutoscaleInterval"/>).</summary>
    internal void Autoscale()
    {
        foreach (var d in _table.All())
        {
            lock (d.Gate)
            {
                if (d.State != DeploymentState.Running || d.Runtime is not { } runtime || d.Max <= Math.Max(1, d.Min)) continue;
                var stats = runtime.GetStats();
                var floor = Math.Max(1, d.Min);
                if (stats.QueueLength > d.TargetQueueDepth * d.Desired && d.Desired < d.Max)
                {
                    d.IdleChecks = 0;
                    SetReplicasLocked(d, d.Desired + 1, $"Autoscaler: {stats.QueueLength} requests queued for {d.Desired} replica(s) (target {d.TargetQueueDepth} each); scaling up to {d.Desired + 1}.");
                }
                else if (stats.QueueLength == 0 && stats.Running < d.Desired && d.Desired > floor)
                {
                    if (++d.IdleChecks >= _options.ScaleDownAfterIdleChecks)
                    {
                        d.IdleChecks = 0;
                        SetReplicasLocked(d, d.Desired - 1, $"Autoscaler: idle for {_options.ScaleDownAfterIdleChecks} checks; scaling down to {d.Desired - 1}.");
                    }
                }
                else
                {
                    d.IdleChecks = 0;
                }
            }
        }
    }


    private void SetReplicasLocked(Deployment d, int replicas, string message)
    {
        if (replicas == d.Desired) return;
        d.Desired = replicas;
        d.Runtime?.Queue.SetInstances(replicas);
        d.Touch(_timeProvider.GetUtcNow());
        d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, message);
    }

    private void ApplyBoundsLocked(Deployment d, int min, int max)
    {
        var wasPinned = d.Min > 0;
        d.Min = min;
        d.Max = max;
        if (d.State != DeploymentState.Running || d.Runtime is not { } runtime) return;
        if (!wasPinned && min > 0)
        {
            _cache.Pin(runtime.CacheKey);
            d.PinnedKey = runtime.CacheKey;
        }
        else if (wasPinned && min == 0 && d.PinnedKey is { } key)
        {
            _cache.Unpin(key);
            d.PinnedKey = null;
        }
    }

    private static void ValidateScaling(int replicas, int min, int max, int target)
    {
        if (min < 0) throw new InvalidModelConfigException($"'min_replicas' must be 0 or more (was {min}).");
        if (replicas < 1) throw new InvalidModelConfigException($"'replicas' must be at least 1 (was {replicas}).");
        if (max > 256) throw new InvalidModelConfigException($"'max_replicas' must be at most 256 (was {max}).");
        if (min > max) throw new InvalidModelConfigException($"'min_replicas' ({min}) is above 'max_replicas' ({max}).");
        if (replicas < Math.Max(1, min) || replicas > max)
        {
            throw new InvalidModelConfigException($"'replicas' ({replicas}) must lie between the bounds {Math.Max(1, min)}..{max}.");
        }

        if (target < 1) throw new InvalidModelConfigException($"The autoscaling target queue depth must be at least 1 (was {target}).");
    }
}
