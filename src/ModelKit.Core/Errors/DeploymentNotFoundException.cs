namespace ModelKit;

/// <summary>The deployment does not exist (DEPLOYMENT_NOT_FOUND).</summary>
public sealed class DeploymentNotFoundException(string message) : ModelKitException(ModelKitErrorCodes.DeploymentNotFound, message);
