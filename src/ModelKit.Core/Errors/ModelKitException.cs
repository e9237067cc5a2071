namespace ModelKit;

/// <summary>The base of every error ModelKit raises on purpose; carries a stable <see cref="ErrorCode"/>.</summary>
public abstract class ModelKitException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected ModelKitException(string errorCode, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
    }

    /// <summary>One of <see cref="ModelKitErrorCodes"/>.</summary>
    public string ErrorCode { get; }
}
