namespace ModelKit.AspNetCore;

/// <summary>Seed 002's envelope: <c>{"code": 0, "message", "data"}</c> (no <c>data</c> where the seed shows none).</summary>
internal sealed record RegistryEnvelope<T>
{
    /// <summary>0 on success.</summary>
    public int Code { get; init; }

    /// <summary><c>success</c> for reads; a sentence for changes.</summary>
    public required string Message { get; init; }

    /// <summary>The payload.</summary>
    public T? Data { get; init; }
}
