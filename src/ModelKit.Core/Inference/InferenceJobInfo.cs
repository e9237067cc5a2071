namespace ModelKit.Inference;

/// <summary>A snapshot of an asynchronous job.</summary>
public sealed record InferenceJobInfo
{
    /// <summary>The job's id.</summary>
    public required string JobId { get; init; }
    /// <summary>The model asked for.</summary>
    public required string ModelId { get; init; }
    /// <summary>The version asked for (null: the default).</summary>
    public string? Version { get; init; }
    /// <summary>The status.</summary>
    public InferenceJobStatus Status { get; init; }
    /// <summary>When it was submitted.</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When it started running.</summary>
    public DateTimeOffset? StartedAt { get; init; }
    /// <summary>When it finished (succeeded, failed or was cancelled).</summary>
    public DateTimeOffset? CompletedAt { get; init; }
    /// <summary>When it will be forgotten.</summary>
    public DateTimeOffset? ExpiresAt { get; init; }
    /// <summary>The outputs when it succeeded.</summary>
    public InferenceResult? Result { get; init; }
    /// <summary>The error code when it failed (INFERENCE_TIMEOUT, INFERENCE_FAILED …).</summary>
    public string? ErrorCode { get; init; }
    /// <summary>The error message when it failed.</summary>
    public string? ErrorMessage { get; init; }
    /// <summary>True once it succeeded, failed or was cancelled.</summary>
    public bool IsCompleted => Status is InferenceJobStatus.Succeeded or InferenceJobStatus.Failed or InferenceJobStatus.Cancelled;
}
