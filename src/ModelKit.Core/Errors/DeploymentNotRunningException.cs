namespace ModelKit;

/// <summary>The deployment is not running (DEPLOYMENT_NOT_RUNNING).</summary>
public sealed class DeploymentNotRunningException(string message) : ModelKitException(ModelKitErrorCodes.DeploymentNotRunning, message);
