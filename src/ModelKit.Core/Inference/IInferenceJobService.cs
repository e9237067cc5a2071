namespace ModelKit.Inference;

/// <summary>Inference as asynchronous jobs: submit now, ask for the status and result later, cancel.</summary>
public interface IInferenceJobService
{
    /// <summary>
    /// Checks the request (model, version, inputs: the errors of <see cref="IInferenceService.InferAsync(InferenceRequest, CancellationToken)"/>), then
    /// accepts it as a job and returns at once. QUEUE_FULL when <see cref="InferenceJobOptions.MaxJobs"/> jobs are unfinished.
    /// </summary>
    Task<InferenceJobInfo> SubmitAsync(InferenceRequest request, CancellationToken cancellationToken = default);

    /// <summary>The job, or JOB_NOT_FOUND (also once it has expired).</summary>
    InferenceJobInfo GetJob(string jobId);

    /// <summary>Jobs, newest first, optionally only those in <paramref name="status"/>.</summary>
    IReadOnlyList<InferenceJobInfo> ListJobs(InferenceJobStatus? status = null, int limit = 100);

    /// <summary>Cancels the job if it has not finished (a queued job never reaches the model); returns its state. JOB_NOT_FOUND when unknown.</summary>
    InferenceJobInfo Cancel(string jobId);

    /// <summary>Waits until the job has finished and returns it. JOB_NOT_FOUND when unknown.</summary>
    Task<InferenceJobInfo> WaitAsync(string jobId, CancellationToken cancellationToken = default);
}
