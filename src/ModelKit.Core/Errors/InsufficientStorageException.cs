namespace ModelKit;

/// <summary>The disk has too little free space for a download (INSUFFICIENT_STORAGE); the message says how much is needed.</summary>
public sealed class InsufficientStorageException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.InsufficientStorage, message, innerException);
