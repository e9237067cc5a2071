namespace ModelKit.Deployments;

/// <summary>The state of one step of bringing a deployment up.</summary>
public enum DeploymentStageStatus
{
    /// <summary>Not started.</summary>
    Pending,
    /// <summary>Running now.</summary>
    InProgress,
    /// <summary>Done.</summary>
    Completed,
    /// <summary>Not applicable to this model (for example warm-up of a model with string inputs).</summary>
    Skipped,
    /// <summary>Failed; the deployment failed with it.</summary>
    Failed,
}
