namespace ModelKit.Inference;

/// <summary>Where an asynchronous job stands.</summary>
public enum InferenceJobStatus
{
    /// <summary>Accepted; waiting for a free job slot.</summary>
    Queued,
    /// <summary>Submitted to the model's queue.</summary>
    Running,
    /// <summary>Finished; <see cref="InferenceJobInfo.Result"/> holds the outputs.</summary>
    Succeeded,
    /// <summary>Finished with an error; <see cref="InferenceJobInfo.ErrorCode"/> says which.</summary>
    Failed,
    /// <summary>Cancelled before it finished.</summary>
    Cancelled,
}
