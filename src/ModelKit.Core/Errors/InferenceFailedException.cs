namespace ModelKit;

/// <summary>The backend failed while loading or running the model (INFERENCE_FAILED).</summary>
public sealed class InferenceFailedException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.InferenceFailed, message, innerException);
