namespace ModelKit.Deployments;

/// <summary>The life cycle of a deployment.</summary>
public enum DeploymentState
{
    /// <summary>Accepted; nothing loaded yet.</summary>
    Pending,
    /// <summary>The model is being loaded and warmed up.</summary>
    Loading,
    /// <summary>Serving requests.</summary>
    Running,
    /// <summary>Draining its queue; accepts no new requests.</summary>
    Stopping,
    /// <summary>Not serving; can be started again.</summary>
    Stopped,
    /// <summary>Could not be brought up; <see cref="DeploymentInfo.FailureReason"/> says why. Can be started again.</summary>
    Failed,
}
