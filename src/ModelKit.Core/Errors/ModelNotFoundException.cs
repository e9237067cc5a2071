namespace ModelKit;

/// <summary>The model or version does not exist (MODEL_NOT_FOUND).</summary>
public sealed class ModelNotFoundException(string message) : ModelKitException(ModelKitErrorCodes.ModelNotFound, message);
