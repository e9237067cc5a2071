namespace ModelKit;

/// <summary>The request's inputs do not match the model (INVALID_INPUT).</summary>
public sealed class InvalidInputException(string message) : ModelKitException(ModelKitErrorCodes.InvalidInput, message);
