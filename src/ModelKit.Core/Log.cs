using Microsoft.Extensions.Logging;

namespace ModelKit;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Loaded model {Key} in {ElapsedMs:F1} ms ({Bytes} bytes, {Method}).")]
    public static partial void ModelLoaded(ILogger logger, string key, double elapsedMs, long bytes, string method);

    [LoggerMessage(2, LogLevel.Warning, "Loading model {Key} failed.")]
    public static partial void ModelLoadFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(3, LogLevel.Information, "Evicted model {Key} ({Bytes} bytes, reason: {Reason}).")]
    public static partial void ModelEvicted(ILogger logger, string key, long bytes, string reason);

    [LoggerMessage(4, LogLevel.Warning, "A batch of {Count} requests for {Queue} failed; running them one by one to isolate the failure.")]
    public static partial void BatchFailed(ILogger logger, int count, string queue, Exception exception);

    [LoggerMessage(5, LogLevel.Warning, "Queue {Queue} is full ({Capacity} requests); rejecting.")]
    public static partial void QueueFull(ILogger logger, string queue, int capacity);

    [LoggerMessage(6, LogLevel.Information, "Registered model {ModelId} version {Version} ({Bytes} bytes, sha256 {Sha256}).")]
    public static partial void ModelRegistered(ILogger logger, string modelId, string version, long bytes, string sha256);

    [LoggerMessage(7, LogLevel.Warning, "Registration of model {ModelId} version {Version} failed; nothing was kept.")]
    public static partial void RegistrationFailed(ILogger logger, string modelId, string version, Exception exception);

    [LoggerMessage(8, LogLevel.Information, "Deleted model {ModelId}.")]
    public static partial void ModelDeleted(ILogger logger, string modelId);

    [LoggerMessage(9, LogLevel.Information, "Deployment {DeploymentId} is {State}.")]
    public static partial void DeploymentState(ILogger logger, string deploymentId, string state);

    [LoggerMessage(10, LogLevel.Error, "Deployment {DeploymentId} failed: {Reason}")]
    public static partial void DeploymentFailed(ILogger logger, string deploymentId, string reason, Exception? exception);

    [LoggerMessage(11, LogLevel.Warning, "Job {JobId} for model {ModelId} failed with {ErrorCode}.")]
    public static partial void JobFailed(ILogger logger, string jobId, string modelId, string errorCode, Exception exception);

    [LoggerMessage(12, LogLevel.Information, "Deleted the temporary files {Path} of an upload whose process stopped.")]
    public static partial void AbandonedUploadDeleted(ILogger logger, string path);

    [LoggerMessage(13, LogLevel.Warning, "Could not save the deployments to {Path}; they will not be restored after a restart.")]
    public static partial void DeploymentsNotSaved(ILogger logger, string path, Exception exception);

    [LoggerMessage(14, LogLevel.Error, "Version {Version} of model {ModelId} cannot be served: its artifact {Path} is missing, unreadable or corrupt.")]
    public static partial void ArtifactUnavailable(ILogger logger, string modelId, string version, string path, Exception? exception);

    [LoggerMessage(15, LogLevel.Information, "Stopped a running batch of {Count} requests for {Queue}: every caller had timed out or gone away.")]
    public static partial void BatchTerminated(ILogger logger, int count, string queue);

    [LoggerMessage(16, LogLevel.Error, "Version {Version} of model {ModelId} passed its upload checks but its backend cannot load it now.")]
    public static partial void ServedModelLoadFailed(ILogger logger, string modelId, string version, Exception exception);

    [LoggerMessage(17, LogLevel.Information, "The registry changed ({Kind} {ModelId}); stopped serving {Key} on demand.")]
    public static partial void ServedModelRetired(ILogger logger, string kind, string modelId, string key);

    [LoggerMessage(30, LogLevel.Warning, "Version {Version} of model {ModelId} failed at start: the process uploading it stopped.")]
    public static partial void UploadInterrupted(ILogger logger, string modelId, string version);

    [LoggerMessage(31, LogLevel.Warning, "The stored content {Sha256} did not match its hash and was rewritten from a new upload of the same content.")]
    public static partial void BlobRepaired(ILogger logger, string sha256);

    [LoggerMessage(32, LogLevel.Information, "Migrated the registry database {Path} from schema {From} to {To}.")]
    public static partial void RegistryMigrated(ILogger logger, string path, int from, int to);

    [LoggerMessage(33, LogLevel.Warning, "Model {Key} holds {Bytes} bytes once loaded, more than the {Reserved} bytes reserved for it; making room again.")]
    public static partial void ModelLargerThanReserved(ILogger logger, string key, long bytes, long reserved);

    [LoggerMessage(40, LogLevel.Information, "Download {TaskId} queued: {Source} model {ModelId}, {Files} files, {Bytes} bytes.")]
    public static partial void DownloadQueued(ILogger logger, string taskId, string source, string modelId, int files, long bytes);

    [LoggerMessage(41, LogLevel.Information, "Download {TaskId} completed: registered as {ModelId} version {Version}.")]
    public static partial void DownloadCompleted(ILogger logger, string taskId, string modelId, string version);

    [LoggerMessage(42, LogLevel.Warning, "Download {TaskId} failed ({Code}): {Reason}")]
    public static partial void DownloadFailed(ILogger logger, string taskId, string code, string reason);

    [LoggerMessage(43, LogLevel.Error, "Download {TaskId} failed unexpectedly.")]
    public static partial void DownloadCrashed(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(44, LogLevel.Information, "Retrying a download transfer (attempt {Attempt}) in {DelaySeconds:0.#} s: {Reason}")]
    public static partial void DownloadRetrying(ILogger logger, int attempt, double delaySeconds, string reason);

    [LoggerMessage(45, LogLevel.Warning, "Download {TaskId}: the source ignored the range for {File} (asked from byte {Offset}); the file starts over.")]
    public static partial void DownloadRangeIgnored(ILogger logger, string taskId, string file, long offset);

    [LoggerMessage(46, LogLevel.Information, "Download {TaskId} cancelled; its files were removed.")]
    public static partial void DownloadCancelled(ILogger logger, string taskId);

    [LoggerMessage(47, LogLevel.Information, "Resuming {Count} download tasks left unfinished by the last process.")]
    public static partial void DownloadsResumed(ILogger logger, int count);

    [LoggerMessage(48, LogLevel.Warning, "The files of download {TaskId} could not all be removed.")]
    public static partial void DownloadCleanupFailed(ILogger logger, Exception exception, string taskId);

    [LoggerMessage(49, LogLevel.Warning, "{Count} download task records could not be read and were skipped.")]
    public static partial void DownloadRecordsUnreadable(ILogger logger, int count);

    [LoggerMessage(50, LogLevel.Warning, "The model registry's database is unavailable (while trying to {Operation}); the request is answered REGISTRY_UNAVAILABLE.")]
    public static partial void RegistryUnavailable(ILogger logger, string operation, Exception exception);

    [LoggerMessage(51, LogLevel.Information, "Fetched content {Sha256} ({Bytes} bytes) from {Source}.")]
    public static partial void ArtifactFetched(ILogger logger, string sha256, string source, long bytes);

    [LoggerMessage(52, LogLevel.Warning, "Content {Sha256} from {Source} was rejected: {Bytes} bytes read, {Expected} recorded, or its sha256 differs.")]
    public static partial void ArtifactFetchRejected(ILogger logger, string sha256, string source, long bytes, long expected);

    [LoggerMessage(53, LogLevel.Warning, "Content {Sha256} could not be fetched from {Source}: {Reason}")]
    public static partial void ArtifactFetchFailed(ILogger logger, string sha256, string source, string reason);
}
