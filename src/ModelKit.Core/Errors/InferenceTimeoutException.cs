namespace ModelKit;

/// <summary>The request ran past its timeout (INFERENCE_TIMEOUT).</summary>
public sealed class InferenceTimeoutException(string message) : ModelKitException(ModelKitErrorCodes.InferenceTimeout, message);
