namespace ModelKit.Cluster;

/// <summary>ModelKit's error from the node that ran a forwarded request, raised again on the node the client called.</summary>
internal sealed class ForwardedError(string errorCode, string message) : ModelKitException(errorCode, message)
{
    /// <summary>The error for <paramref name="code"/>: the exception types that carry a retry hint are rebuilt as such.</summary>
    public static ModelKitException From(string code, string message, TimeSpan? retryAfter) => code switch
    {
        ModelKitErrorCodes.QueueFull => new QueueFullException(message, retryAfter ?? TimeSpan.FromSeconds(1)),
        ModelKitErrorCodes.RegistryUnavailable => new RegistryUnavailableException(message, retryAfter ?? TimeSpan.FromSeconds(5)),
        _ => new ForwardedError(code, message),
    };
}
