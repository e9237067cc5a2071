namespace ModelKit;

/// <summary>
/// A remote provider cannot serve a model now (PROVIDER_UNAVAILABLE): unreachable, refusing the server's credentials,
/// not knowing the configured model, or failing. The message names the model and the provider, never its address or key.
/// </summary>
public sealed class ProviderUnavailableException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.ProviderUnavailable, message, innerException);
