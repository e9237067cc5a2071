namespace ModelKit;

/// <summary>The download task does not exist (DOWNLOAD_NOT_FOUND).</summary>
public sealed class DownloadNotFoundException(string message) : ModelKitException(ModelKitErrorCodes.DownloadNotFound, message);
