namespace ModelKit;

/// <summary>The request names a model source ModelKit does not have, or one switched off by configuration (INVALID_SOURCE).</summary>
public sealed class InvalidSourceException(string message) : ModelKitException(ModelKitErrorCodes.InvalidSource, message);
