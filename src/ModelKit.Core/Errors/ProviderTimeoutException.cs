namespace ModelKit;

/// <summary>A remote provider did not answer within the model's timeout (PROVIDER_TIMEOUT); the message names the model, the provider and the timeout.</summary>
public sealed class ProviderTimeoutException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.ProviderTimeout, message, innerException);
