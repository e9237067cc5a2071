using System.Text.Json.Serialization;

namespace ModelKit.AspNetCore;

/// <summary>
/// Seed 002's envelope for an error: a non-zero <c>code</c> (the HTTP status), the message, <c>data: null</c>, and, as
/// extra members, the error code (<c>error</c>: MODEL_NOT_FOUND …) and the request id to quote.
/// </summary>
internal sealed record RegistryErrorResponse
{
    /// <summary>The HTTP status, never 0.</summary>
    public int Code { get; init; }

    /// <summary>What was wrong and what would be right.</summary>
    public required string Message { get; init; }

    /// <summary>Always null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public object? Data { get; init; }

    /// <summary>The error code (MODEL_NOT_FOUND, INVALID_INPUT …).</summary>
    public required string Error { get; init; }

    /// <summary>The request id (the server's log has the details of an unexpected error under it).</summary>
    public string? RequestId { get; init; }

    /// <summary>Seconds to wait before retrying (QUEUE_FULL, RATE_LIMITED); also sent as <c>Retry-After</c>.</summary>
    public int? RetryAfter { get; init; }

    /// <summary>When the error was answered (UTC).</summary>
    public DateTimeOffset Timestamp { get; init; }
}
