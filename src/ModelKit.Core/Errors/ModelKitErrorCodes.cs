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
    /// <summary>
    /// A model served through a remote provider cannot be served now: the provider could not be reached, refused the
    /// server's credentials, does not know the configured model, or failed. Not the client's mistake (502).
    /// </summary>
    public const string ProviderUnavailable = "PROVIDER_UNAVAILABLE";
    /// <summary>A model served through a remote provider: the provider did not answer within the model's timeout (504).</summary>
    public const string ProviderTimeout = "PROVIDER_TIMEOUT";
    /// <summary>A model source (a hub, a URL) cannot be reached, refused the server's credentials, or failed (502).</summary>
    public const string SourceUnavailable = "SOURCE_UNAVAILABLE";
    /// <summary>The request names a model source ModelKit does not have, or one that is switched off (400).</summary>
    public const string InvalidSource = "INVALID_SOURCE";
    /// <summary>The download task does not exist (or was deleted) (404).</summary>
    public const string DownloadNotFound = "DOWNLOAD_NOT_FOUND";
    /// <summary>Not enough free disk space for the download (507).</summary>
    public const string InsufficientStorage = "INSUFFICIENT_STORAGE";
    /// <summary>A downloaded file did not match the hash or size its source published; nothing was registered.</summary>
    public const string IntegrityCheckFailed = "INTEGRITY_CHECK_FAILED";
    /// <summary>
    /// The registry's metadata store (its database) cannot be reached now (503, with Retry-After): send the request again
    /// later (after a change, read first: a commit cut off midway has an unknown outcome). Models already loaded keep serving.
    /// </summary>
    public const string RegistryUnavailable = "REGISTRY_UNAVAILABLE";
}
