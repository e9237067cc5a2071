namespace ModelKit;

/// <summary>The stable error codes ModelKit reports; adapters map them to HTTP and gRPC statuses.</summary>
public static class ModelKitErrorCodes
{
    /// <summary>The model (or the version) does not exist.</summary>
    public const string ModelNotFound = "MODEL_NOT_FOUND";
    /// <summary>A model or version with the same identity already exists.</summary>
    public const string ModelAlreadyExists = "MODEL_ALREADY_EXISTS";
    /// <summary>The model's artifact or configuration is not usable.</summary>
    public const string InvalidModelConfig = "INVALID_MODEL_CONFIG";
    /// <summary>The request's inputs do not match the model's signature.</summary>
    public const string InvalidInput = "INVALID_INPUT";
    /// <summary>The request did not complete within its timeout.</summary>
    public const string InferenceTimeout = "INFERENCE_TIMEOUT";
    /// <summary>The backend failed while running the model.</summary>
    public const string InferenceFailed = "INFERENCE_FAILED";
    /// <summary>Not enough memory (or another resource) to load or run the model.</summary>
    public const string InsufficientResources = "INSUFFICIENT_RESOURCES";
    /// <summary>The model's request queue is full; retry later.</summary>
    public const string QueueFull = "QUEUE_FULL";
    /// <summary>A deployment could not be created or brought up.</summary>
    public const string DeploymentFailed = "DEPLOYMENT_FAILED";
    /// <summary>The deployment does not exist.</summary>
    public const string DeploymentNotFound = "DEPLOYMENT_NOT_FOUND";
    /// <summary>The deployment exists but is not running (or the model is not deployed where on-demand serving is off).</summary>
    public const string DeploymentNotRunning = "DEPLOYMENT_NOT_RUNNING";
    /// <summary>The operation conflicts with the current state (for example deleting a deployed model).</summary>
    public const string Conflict = "CONFLICT";
    /// <summary>The asynchronous job does not exist (or has been purged).</summary>
    public const string JobNotFound = "JOB_NOT_FOUND";
    /// <summary>The uploaded artifact (or request body) is larger than the configured limit.</summary>
    public const string PayloadTooLarge = "PAYLOAD_TOO_LARGE";
    /// <summary>The requested execution device is not available.</summary>
    public const string DeviceUnavailable = "DEVICE_UNAVAILABLE";
    /// <summary>The request names a task the model does not perform.</summary>
    public const string UnsupportedTask = "UNSUPPORTED_TASK";
    /// <summary>An unexpected failure (a bug); the server's log has the details.</summary>
    public const string InternalError = "INTERNAL_ERROR";
    /// <summary>
    /// The model is registered but cannot be served because of a server-side fault: an artifact file is missing,
    /// unreadable or does not match its recorded hash. Not the client's mistake; an operator must re-upload.
    /// </summary>
    public const string ModelUnavailable = "MODEL_UNAVAILABLE";
}

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

/// <summary>The model or version does not exist (MODEL_NOT_FOUND).</summary>
public sealed class ModelNotFoundException(string message) : ModelKitException(ModelKitErrorCodes.ModelNotFound, message);

/// <summary>A model or version with the same identity already exists (MODEL_ALREADY_EXISTS).</summary>
public sealed class ModelAlreadyExistsException(string message) : ModelKitException(ModelKitErrorCodes.ModelAlreadyExists, message);

/// <summary>The artifact or configuration is not usable (INVALID_MODEL_CONFIG).</summary>
public sealed class InvalidModelConfigException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.InvalidModelConfig, message, innerException);

/// <summary>The request's inputs do not match the model (INVALID_INPUT).</summary>
public sealed class InvalidInputException(string message) : ModelKitException(ModelKitErrorCodes.InvalidInput, message);

/// <summary>The request names a task the model does not perform (UNSUPPORTED_TASK).</summary>
public sealed class UnsupportedTaskException(string message) : ModelKitException(ModelKitErrorCodes.UnsupportedTask, message);

/// <summary>An unexpected failure, reported without its internals (INTERNAL_ERROR); the server's log has the details.</summary>
public sealed class InternalErrorException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.InternalError, message, innerException);

/// <summary>The request ran past its timeout (INFERENCE_TIMEOUT).</summary>
public sealed class InferenceTimeoutException(string message) : ModelKitException(ModelKitErrorCodes.InferenceTimeout, message);

/// <summary>The backend failed while loading or running the model (INFERENCE_FAILED).</summary>
public sealed class InferenceFailedException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.InferenceFailed, message, innerException);

/// <summary>Not enough memory or another resource (INSUFFICIENT_RESOURCES).</summary>
public sealed class InsufficientResourcesException(string message) : ModelKitException(ModelKitErrorCodes.InsufficientResources, message);

/// <summary>The request queue is full (QUEUE_FULL); <see cref="RetryAfter"/> says when a retry is likely to be accepted.</summary>
public sealed class QueueFullException(string message, TimeSpan retryAfter) : ModelKitException(ModelKitErrorCodes.QueueFull, message)
{
    /// <summary>A hint for when to retry.</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;
}

/// <summary>A deployment failed (DEPLOYMENT_FAILED).</summary>
public sealed class DeploymentFailedException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.DeploymentFailed, message, innerException);

/// <summary>The deployment does not exist (DEPLOYMENT_NOT_FOUND).</summary>
public sealed class DeploymentNotFoundException(string message) : ModelKitException(ModelKitErrorCodes.DeploymentNotFound, message);

/// <summary>The deployment is not running (DEPLOYMENT_NOT_RUNNING).</summary>
public sealed class DeploymentNotRunningException(string message) : ModelKitException(ModelKitErrorCodes.DeploymentNotRunning, message);

/// <summary>The operation conflicts with the current state (CONFLICT).</summary>
public sealed class ModelKitConflictException(string message) : ModelKitException(ModelKitErrorCodes.Conflict, message);

/// <summary>The job does not exist (JOB_NOT_FOUND).</summary>
public sealed class JobNotFoundException(string message) : ModelKitException(ModelKitErrorCodes.JobNotFound, message);

/// <summary>The requested device is not available (DEVICE_UNAVAILABLE).</summary>
public sealed class DeviceUnavailableException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.DeviceUnavailable, message, innerException);

/// <summary>The artifact or body is larger than the limit (PAYLOAD_TOO_LARGE).</summary>
public sealed class PayloadTooLargeException(string message) : ModelKitException(ModelKitErrorCodes.PayloadTooLarge, message);

/// <summary>
/// The model is registered but its artifacts are missing, unreadable or corrupt (MODEL_UNAVAILABLE); a server-side fault.
/// The message names the model and version, never a file path.
/// </summary>
public sealed class ModelUnavailableException(string message, Exception? innerException = null)
    : ModelKitException(ModelKitErrorCodes.ModelUnavailable, message, innerException);
