namespace ModelKit.Downloads;

/// <summary>
/// The Hugging Face-compatible hub (configuration section <c>ModelKit:Hub</c>). Unset values come from the environment
/// as Hugging Face's own clients read it: <c>HF_ENDPOINT</c> and <c>HF_TOKEN</c> (also <c>HUGGING_FACE_HUB_TOKEN</c>).
/// </summary>
public sealed class HubOptions
{
    /// <summary>The public hub, used when neither <see cref="Endpoint"/> nor <c>HF_ENDPOINT</c> is set.</summary>
    public static readonly Uri PublicHub = new("https://huggingface.co/");

    /// <summary>The hub's base address; default <c>HF_ENDPOINT</c>, else <see cref="PublicHub"/>.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The access token sent as <c>Authorization: Bearer</c>; default <c>HF_TOKEN</c>. Never logged or returned.</summary>
    public string? Token { get; set; }

    /// <summary>How long one call to the hub's API (search, info, file listing) may take (1 s – 10 min). Default 30 s.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The address actually used: <see cref="Endpoint"/>, <c>HF_ENDPOINT</c> or <see cref="PublicHub"/>, ending in '/'.</summary>
    public Uri ResolveEndpoint()
    {
        var endpoint = Endpoint;
        if (endpoint is null && Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } fromEnvironment)
        {
            endpoint = Uri.TryCreate(fromEnvironment, UriKind.Absolute, out var parsed) ? parsed : null;
        }

        endpoint ??= PublicHub;
        return endpoint.AbsoluteUri.EndsWith('/') ? endpoint : new Uri(endpoint.AbsoluteUri + "/");
    }

    /// <summary>The token actually used: <see cref="Token"/>, <c>HF_TOKEN</c>, <c>HUGGING_FACE_HUB_TOKEN</c>, or none.</summary>
    public string? ResolveToken() =>
        Token is { Length: > 0 } token ? token
        : Environment.GetEnvironmentVariable("HF_TOKEN") is { Length: > 0 } fromEnvironment ? fromEnvironment
        : Environment.GetEnvironmentVariable("HUGGING_FACE_HUB_TOKEN") is { Length: > 0 } legacy ? legacy
        : null;
}
