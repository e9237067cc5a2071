namespace ModelKit.Remote;

/// <summary>
/// The models served through remote OpenAI-compatible providers (the host's <c>ModelKit:RemoteModels</c> section),
/// keyed by the id clients name them by on this server. Validated when the host starts.
/// </summary>
/// <example><code>"ModelKit": { "RemoteModels": { "Models": {
///   "gpt-4o": { "Endpoint": "https://api.openai.com/v1", "ApiKey": "sk-…", "Provider": "openai" },
///   "gettysburg-remote": { "Endpoint": "http://10.0.0.7:8080/v1", "Model": "gpt2-gettysburg", "Provider": "modelkit" } } } }</code></example>
public sealed class RemoteModelsOptions
{
    /// <summary>The remote models by id. Default: none.</summary>
    public Dictionary<string, RemoteModelOptions> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// How long to wait for a provider's answer (a whole answer, or the first streamed chunk and then each next one)
    /// before failing with PROVIDER_TIMEOUT, retries included. Default: 100 seconds. A model's own <see cref="RemoteModelOptions.Timeout"/> wins.
    /// </summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(100);

    /// <summary>
    /// How many times a request the provider could not take (unreachable, HTTP 408, 429, 500, 502, 503, 504) is sent again,
    /// with exponential back-off, inside <see cref="Timeout"/>. Default: 2. A model's own <see cref="RemoteModelOptions.MaxRetries"/> wins.
    /// </summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>The most choices (<c>n</c>) one request may ask for; each is one request to the provider. Default: 8.</summary>
    public int MaxChoices { get; set; } = 8;
}

/// <summary>One model served through a remote OpenAI-compatible provider (its Chat Completions API).</summary>
public sealed class RemoteModelOptions
{
    /// <summary>
    /// The provider's API base address, the part before <c>/chat/completions</c>: <c>https://api.openai.com/v1</c>,
    /// Anthropic's OpenAI compatibility <c>https://api.anthropic.com/v1/</c>, vLLM's or another ModelKit server's
    /// <c>http://host:port/v1</c>. Required.
    /// </summary>
    public Uri? Endpoint { get; set; }

    /// <summary>The key sent as <c>Authorization: Bearer …</c>; null or empty sends none (a provider without auth). Never listed or logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>The model's name at the provider. Default: the id it is configured under.</summary>
    public string? Model { get; set; }

    /// <summary>Who serves it, as seed 001's <c>provider</c> field and OpenAI's <c>owned_by</c> show it. Default: <c>openai</c>.</summary>
    public string? Provider { get; set; }

    /// <summary>A display name (seed 001's <c>name</c>). Default: the id.</summary>
    public string? Name { get; set; }

    /// <summary>A description (seed 001's <c>description</c>). Default: none.</summary>
    public string? Description { get; set; }

    /// <summary>A version label (seed 001's <c>version</c>). Default: none.</summary>
    public string? Version { get; set; }

    /// <summary>The provider's context length for the model, when known; listed, not enforced (the provider checks). Default: none.</summary>
    public int? ContextLength { get; set; }

    /// <summary>
    /// The field the completion limit (<c>max_tokens</c> of a request) is sent in: <c>max_completion_tokens</c> (OpenAI's
    /// current name; reasoning models take only this one) or <c>max_tokens</c> (servers that predate it and ignore the
    /// new name: older vLLM, TGI, llama.cpp, Ollama). Default: <c>max_completion_tokens</c>.
    /// </summary>
    public string? MaxTokensField { get; set; }

    /// <summary>This model's answer timeout. Default: <see cref="RemoteModelsOptions.Timeout"/>.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>This model's retries. Default: <see cref="RemoteModelsOptions.MaxRetries"/>.</summary>
    public int? MaxRetries { get; set; }
}
