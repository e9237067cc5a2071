namespace ModelKit;

/// <summary>The operation conflicts with the current state (CONFLICT).</summary>
public sealed class ModelKitConflictException(string message) : ModelKitException(ModelKitErrorCodes.Conflict, message);
