namespace ModelKit.Cluster;

/// <summary>ModelKit's error from the node that ran a forwarded request, raised again on the node the client called.</summary>
internal sealed class ForwardedError(string errorCode, string message) : ModelKitException(errorCode, message)
{
    /// <summary>The error for <paramref name="code"/>: the exception types that carry a retry hint, or that callers catch by type, are rebuilt as such.</summary>
    public static ModelKitException From(string code, string message, TimeSpan? retryAfter) => code switch
    {
        ModelKitErrorCodes.QueueFull => new QueueFullException(message, retryAfter ?? TimeSpan.FromSeconds(1)),
        ModelKitErrorCodes.RegistryUnavailable => new RegistryUnavailableException(message, retryAfter ?? TimeSpan.FromSeconds(5)),
        // Types the surfaces catch by name (a deploy that conflicts, a deployment that is not there).
        ModelKitErrorCodes.Conflict => new ModelKitConflictException(message),
        ModelKitErrorCodes.DeploymentNotFound => new DeploymentNotFoundException(message),
        ModelKitErrorCodes.DeploymentFailed => new DeploymentFailedException(message),
        ModelKitErrorCodes.ModelNotFound => new ModelNotFoundException(message),
        _ => new ForwardedError(code, message),
    };
}
