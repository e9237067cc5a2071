namespace ModelKit;

/// <summary>The artifact or configuration is not usable (INVALID_MODEL_CONFIG).</summary>
public sealed class InvalidModelConfigException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.InvalidModelConfig, message, innerException);
