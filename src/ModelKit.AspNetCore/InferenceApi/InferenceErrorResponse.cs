namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>Seed 003's <c>ErrorResponse</c>: <c>{"success": false, "error": {type, message, code, details}, "timestamp"}</c>.</summary>
internal sealed record InferenceErrorResponse
{
    /// <summary>Always false.</summary>
    public bool Success { get; init; }

    /// <summary>What went wrong.</summary>
    public required InferenceErrorDetail Error { get; init; }

    /// <summary>Unix time in seconds (the seed's <c>time.time()</c>).</summary>
    public double Timestamp { get; init; }
}

/// <summary>
/// The seed's <c>error</c> object: <c>type</c> (an error type name, <see cref="InferenceApiErrors.TypeOf"/>), <c>message</c>,
/// <c>code</c> (one of the seed's codes where one fits, else ModelKit's) and <c>details</c> (<c>request_id</c> always;
/// <c>hint</c>, <c>modelkit_code</c>, <c>retry_after</c> and the error's own fields where they apply).
/// </summary>
internal sealed record InferenceErrorDetail(string Type, string Message, string Code, IReadOnlyDictionary<string, object?> Details);
