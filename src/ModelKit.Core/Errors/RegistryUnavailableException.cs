namespace ModelKit;

/// <summary>
/// The registry's metadata store cannot be reached or refused the operation for a passing reason — a database server
/// that is down, restarting, out of connections — (REGISTRY_UNAVAILABLE, 503). Usually nothing was changed (the database
/// was not reached); when the connection broke while a change was being committed, its outcome is unknown, so read the
/// model again before repeating a change after <see cref="RetryAfter"/>. Models already loaded keep serving meanwhile.
/// </summary>
public sealed class RegistryUnavailableException(string message, TimeSpan retryAfter, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.RegistryUnavailable, message, innerException)
{
    /// <summary>A hint for when to retry.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}
