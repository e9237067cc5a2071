using System.Text.Json.Serialization;

namespace ModelKit.AspNetCore;

/// <summary>Seed 000's error body: <c>{"status": "error", "error": {code, message, details}, "timestamp"}</c>.</summary>
internal sealed record DeploymentErrorResponse
{
    /// <summary>Always <c>error</c>.</summary>
    public string Status { get; init; } = "error";

    /// <summary>The error: the seed's code (MODEL_NOT_FOUND …), a message, and details such as the model id.</summary>
    public required DeploymentError Error { get; init; }

    /// <summary>When the error was answered (UTC).</summary>
    public DateTimeOffset Timestamp { get; init; }
}

/// <summary>The <c>error</c> member of seed 000's error body (also a failed item of a batch).</summary>
internal sealed record DeploymentError
{
    /// <summary>The seed's error code.</summary>
    public required string Code { get; init; }

    /// <summary>What was wrong and what would be right.</summary>
    public required string Message { get; init; }

    /// <summary>Where known: <c>model_id</c>, <c>request_id</c>, <c>retry_after_seconds</c>, a batch's <c>failed_requests</c>.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, object?>? Details { get; init; }
}
