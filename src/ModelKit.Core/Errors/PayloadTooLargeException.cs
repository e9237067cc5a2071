namespace ModelKit;

/// <summary>The artifact or body is larger than the limit (PAYLOAD_TOO_LARGE).</summary>
public sealed class PayloadTooLargeException(string message) : ModelKitException(ModelKitErrorCodes.PayloadTooLarge, message);
