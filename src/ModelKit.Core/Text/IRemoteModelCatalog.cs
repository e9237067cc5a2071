namespace ModelKit.Text;

/// <summary>
/// The models this server serves through remote providers (OpenAI-compatible endpoints configured by the operator), for
/// the surfaces that list models beside the registry's: OpenAI's <c>/v1/models</c> and seed 001's <c>/models</c>.
/// Registered by ModelKit.Remote (<c>AddRemoteModels</c>); absent, the server has none.
/// </summary>
public interface IRemoteModelCatalog
{
    /// <summary>Every remote model, in id order.</summary>
    IReadOnlyList<RemoteModelInfo> Models { get; }

    /// <summary>The remote model with id <paramref name="modelId"/> (ordinal), or null.</summary>
    RemoteModelInfo? Find(string modelId);

    /// <summary>What the model's requests have done since the server started.</summary>
    RemoteModelStats GetStats(string modelId);
}

/// <summary>A model served through a remote provider, as the server lists it. Its address and key are not part of it.</summary>
public sealed record RemoteModelInfo
{
    /// <summary>The id clients name it by on this server.</summary>
    public required string Id { get; init; }

    /// <summary>A display name; the id unless configured.</summary>
    public required string Name { get; init; }

    /// <summary>A description, when configured.</summary>
    public string? Description { get; init; }

    /// <summary>Who serves it, as seed 001's <c>provider</c> names it: <c>openai</c>, <c>anthropic</c>, … (configured; default <c>openai</c>).</summary>
    public required string Provider { get; init; }

    /// <summary>The model's name at the provider (what requests to it name).</summary>
    public required string ProviderModel { get; init; }

    /// <summary>A version label, when configured.</summary>
    public string? Version { get; init; }

    /// <summary>The most tokens a sequence may hold at the provider, when configured.</summary>
    public int? ContextLength { get; init; }

    /// <summary>When this server started serving it (the configuration was loaded).</summary>
    public DateTimeOffset AddedAt { get; init; }
}

/// <summary>Counts of a remote model's requests since the server started.</summary>
public sealed record RemoteModelStats
{
    /// <summary>Requests the provider answered.</summary>
    public long Succeeded { get; init; }

    /// <summary>Requests that failed at the provider or on the way (client mistakes the provider refused included).</summary>
    public long Failed { get; init; }

    /// <summary>Requests that timed out.</summary>
    public long TimedOut { get; init; }

    /// <summary>The mean time of the answered requests, to the last token; null before the first.</summary>
    public double? AverageLatencyMs { get; init; }
}
