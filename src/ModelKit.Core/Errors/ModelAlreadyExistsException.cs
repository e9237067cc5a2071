namespace ModelKit;

/// <summary>A model or version with the same identity already exists (MODEL_ALREADY_EXISTS).</summary>
public sealed class ModelAlreadyExistsException(string message) : ModelKitException(ModelKitErrorCodes.ModelAlreadyExists, message);
