namespace ModelKit;

/// <summary>Not enough memory or another resource (INSUFFICIENT_RESOURCES).</summary>
public sealed class InsufficientResourcesException(string message) : ModelKitException(ModelKitErrorCodes.InsufficientResources, message);
