namespace ModelKit;

/// <summary>An unexpected failure, reported without its internals (INTERNAL_ERROR); the server's log has the details.</summary>
public sealed class InternalErrorException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.InternalError, message, innerException);
