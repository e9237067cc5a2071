namespace ModelKit;

/// <summary>The job does not exist (JOB_NOT_FOUND).</summary>
public sealed class JobNotFoundException(string message) : ModelKitException(ModelKitErrorCodes.JobNotFound, message);
