namespace ModelKit;

/// <summary>
/// The model is registered but its artifacts are missing, unreadable or corrupt (MODEL_UNAVAILABLE); a server-side fault.
/// The message names the model and version, never a file path.
/// </summary>
public sealed class ModelUnavailableException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.ModelUnavailable, message, innerException);
