namespace ModelKit;

/// <summary>A download task failed or was cancelled while someone waited for it; <see cref="ModelKitException.ErrorCode"/> is the task's error code.</summary>
public sealed class DownloadFailedException(string errorCode, string message) : ModelKitException(errorCode, message);
