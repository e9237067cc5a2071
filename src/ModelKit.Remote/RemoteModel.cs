using System.ClientModel;
using System.ClientModel.Primitives;
using OpenAI;
using OpenAI.Chat;
using ModelKit.Text;

namespace ModelKit.Remote;

/// <summary>One configured remote model: what is listed about it, its OpenAI client, its timeout and its counters.</summary>
internal sealed class RemoteModel
{
    private readonly string[] _secrets;
    private long _succeeded;
    private long _failed;
    private long _timedOut;
    private long _latencyTicks;

    public RemoteModel(string id, RemoteModelOptions options, RemoteModelsOptions defaults, DateTimeOffset addedAt)
    {
        Info = new RemoteModelInfo
        {
            Id = id,
            Name = string.IsNullOrWhiteSpace(options.Name) ? id : options.Name,
            Description = options.Description,
            Provider = string.IsNullOrWhiteSpace(options.Provider) ? "openai" : options.Provider,
            ProviderModel = options.Model ?? id,
            Version = options.Version,
            ContextLength = options.ContextLength,
            AddedAt = addedAt,
        };
        Timeout = options.Timeout ?? defaults.Timeout;
        LegacyMaxTokens = options.MaxTokensField == "max_tokens";
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = options.Endpoint,
            // A backstop only: RemoteCall's timer (Timeout, restarted by every chunk) fires first, so that a provider
            // that stalls is always reported as PROVIDER_TIMEOUT, whatever the transport would have thrown.
            NetworkTimeout = Timeout + TimeSpan.FromSeconds(10),
            RetryPolicy = new ProviderRetryPolicy(options.MaxRetries ?? defaults.MaxRetries),
            UserAgentApplicationId = "ModelKit",
        };
        Host = options.Endpoint!.Host;
        _secrets = [.. new[] { options.Endpoint.ToString(), options.Endpoint.Authority, options.Endpoint.Host, options.ApiKey }
            .Where(s => !string.IsNullOrEmpty(s)).Distinct().OrderByDescending(s => s!.Length)!];
#pragma warning disable OPENAI001 // The constructor taking an authentication policy is marked for evaluation; it is the client's only way to send no key.
        Client = string.IsNullOrEmpty(options.ApiKey)
            ? new ChatClient(Info.ProviderModel, new NoAuthentication(), clientOptions)
            : new ChatClient(Info.ProviderModel, new ApiKeyCredential(options.ApiKey), clientOptions);
#pragma warning restore OPENAI001
    }

    /// <summary>The provider's host name, for the log (never sent to clients).</summary>
    public string Host { get; }

    /// <summary>What the surfaces list.</summary>
    public RemoteModelInfo Info { get; }

    /// <summary>Whether the completion limit is sent as <c>max_tokens</c> (older servers) rather than <c>max_completion_tokens</c>.</summary>
    public bool LegacyMaxTokens { get; }

    /// <summary>The provider's Chat Completions client for this model.</summary>
    public ChatClient Client { get; }

    /// <summary>How long to wait for the provider's answer, or for its next streamed chunk.</summary>
    public TimeSpan Timeout { get; }

    /// <summary><paramref name="text"/> without the provider's address, host or the key (a provider's message may hold them).</summary>
    public string Scrub(string text)
    {
        foreach (var secret in _secrets) text = text.Replace(secret, "…", StringComparison.OrdinalIgnoreCase);
        return text;
    }

    public string Describe() => $"remote model '{Info.Id}' (provider '{Info.Provider}', model '{Info.ProviderModel}')";

    public void Succeeded(TimeSpan elapsed)
    {
        Interlocked.Increment(ref _succeeded);
        Interlocked.Add(ref _latencyTicks, elapsed.Ticks);
    }

    public void Failed(bool timedOut)
    {
        if (timedOut) Interlocked.Increment(ref _timedOut);
        else Interlocked.Increment(ref _failed);
    }

    public RemoteModelStats Stats
    {
        get
        {
            var succeeded = Interlocked.Read(ref _succeeded);
            return new RemoteModelStats
            {
                Succeeded = succeeded,
                Failed = Interlocked.Read(ref _failed),
                TimedOut = Interlocked.Read(ref _timedOut),
                AverageLatencyMs = succeeded == 0 ? null : Math.Round(TimeSpan.FromTicks(Interlocked.Read(ref _latencyTicks) / succeeded).TotalMilliseconds, 3),
            };
        }
    }

    // A provider without authentication (a local vLLM or ModelKit server): no Authorization header at all, rather than a made-up key.
    private sealed class NoAuthentication : AuthenticationPolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex) =>
            ProcessNext(message, pipeline, currentIndex);

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex) =>
            ProcessNextAsync(message, pipeline, currentIndex);
    }
}
