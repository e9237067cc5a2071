namespace ModelKit;

/// <summary>A deployment failed (DEPLOYMENT_FAILED).</summary>
public sealed class DeploymentFailedException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.DeploymentFailed, message, innerException);
