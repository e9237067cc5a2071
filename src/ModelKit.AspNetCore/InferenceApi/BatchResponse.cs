namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>
/// The body of <c>/inference/batch</c> as the seed returns it: <c>success</c>, <c>summary</c>, <c>results</c>,
/// <c>total_processing_time</c> and <c>average_time_per_request</c> (seconds), <c>timestamp</c>; ModelKit adds <c>parallel</c>.
/// </summary>
internal sealed record BatchResponse
{
    public bool Success { get; init; }
    public required BatchResponseSummary Summary { get; init; }
    public required List<BatchResultItem> Results { get; init; }
    public double TotalProcessingTime { get; init; }
    public double AverageTimePerRequest { get; init; }
    public bool Parallel { get; init; }
    public double Timestamp { get; init; }
}

/// <summary>The seed's <c>summary</c>: <c>total_requests</c>, <c>successful</c>, <c>failed</c>, <c>success_rate</c> (0..1).</summary>
internal sealed record BatchResponseSummary(int TotalRequests, int Successful, int Failed, double SuccessRate);

/// <summary>
/// One item as the seed writes it: <c>index</c> and <c>success</c>; on success <c>result</c> (as <c>/inference/infer</c>'s),
/// on failure <c>error</c> (the message, a string as in the seed), <c>task</c> and <c>model_name</c>. ModelKit adds the
/// error's <c>code</c> and <c>type</c> (seed 003's, as in its error responses), and on success <c>model_name</c>,
/// <c>model_version</c> and <c>processing_time</c>.
/// </summary>
internal sealed record BatchResultItem
{
    public int Index { get; init; }
    public bool Success { get; init; }
    public InferResult? Result { get; init; }
    public string? ModelVersion { get; init; }
    public double? ProcessingTime { get; init; }
    public string? Error { get; init; }
    public string? Code { get; init; }
    public string? Type { get; init; }
    public string? Task { get; init; }
    public string? ModelName { get; init; }
}
