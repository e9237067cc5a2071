namespace ModelKit;

/// <summary>
/// A model source cannot serve the request now (SOURCE_UNAVAILABLE): unreachable, too slow, refusing the server's
/// token, or failing. The message names the source, never its token.
/// </summary>
public sealed class SourceUnavailableException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.SourceUnavailable, message, innerException);
