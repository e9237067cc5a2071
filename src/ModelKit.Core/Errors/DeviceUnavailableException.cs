namespace ModelKit;

/// <summary>The requested device is not available (DEVICE_UNAVAILABLE).</summary>
public sealed class DeviceUnavailableException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.DeviceUnavailable, message, innerException);
