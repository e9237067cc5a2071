using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;
using ModelKit.Text;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// The <see cref="ITextGenerationService"/>: reads each decoder version once (layout, tokenizer, config, chat template;
/// dropped when the registry changes the model) and runs one continuous-batching engine per served model, so that every
/// concurrent generation of a deployment shares its decoding steps.
/// </summary>
public sealed class TextGenerationService : ITextGenerationService, IDisposable
{
    private readonly IModelRouter _router;
    private readonly IModelRegistry _registry;
    private readonly TextGenerationOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly GenerationMetrics _metrics;
    private readonly ModelKit.Deployments.IDeploymentManager? _deployments;
    private readonly ConcurrentDictionary<(string ModelId, string Version), Lazy<Task<DecoderModel>>> _decoders = new();
    private readonly ConcurrentDictionary<IServedModel, GenerationEngine> _engines = new(ReferenceEqualityComparer.Instance);
    private readonly EventHandler<ModelRegistryChange> _onChanged;
    private readonly object _engineGate = new();
    private bool _disposed;

    /// <summary>Creates the service over the router (which resolves the served model) and the registry (which holds the tokenizer and config files).</summary>
    public TextGenerationService(
        IModelRouter router,
        IModelRegistry registry,
        IOptions<TextGenerationOptions>? options = null,
        ILogger<TextGenerationService>? logger = null,
        TimeProvider? timeProvider = null,
        System.Diagnostics.Metrics.IMeterFactory? meterFactory = null,
        ModelKit.Deployments.IDeploymentManager? deployments = null)
    {
        ArgumentNullException.ThrowIfNull(router);
        ArgumentNullException.ThrowIfNull(registry);
        _router = router;
        _registry = registry;
        _options = options?.Value ?? new TextGenerationOptions();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<TextGenerationService>.Instance;
        _metrics = new GenerationMetrics(meterFactory);
        _deployments = deployments;
        _onChanged = (_, change) =>
        {
            foreach (var key in _decoders.Keys)
            {
                if (key.ModelId == change.ModelId) _decoders.TryRemove(key, out Lazy<Task<DecoderModel>>? _);
            }
        };
        registry.Changed += _onChanged;
    }

    /// <inheritdoc />
    public async Task<TextGenerationResult> GenerateAsync(TextGenerationRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var n = Math.Max(1, request.N);
        var texts = new StringBuilder[n];
        var ids = new List<int>[n];
        var reasons = new string?[n];
        var logProbs = request.LogProbs ? new List<TokenLogProb>[n] : null;
        for (var i = 0; i < n; i++)
        {
            texts[i] = new StringBuilder();
            ids[i] = [];
            if (logProbs is not null) logProbs[i] = [];
        }

        string? modelId = null, version = null;
        TextGenerationUsage? usage = null;
        await foreach (var update in GenerateStreamingAsync(request, cancellationToken).ConfigureAwait(false))
        {
            modelId = update.ModelId;
            version = update.Version;
            if (update.Usage is not null)
            {
                usage = update.Usage;
                continue;
            }

            var i = update.ChoiceIndex;
            texts[i].Append(update.Text);
            ids[i].AddRange(update.TokenIds);
            if (update.LogProbs is not null) logProbs?[i].AddRange(update.LogProbs);
            if (update.FinishReason is not null) reasons[i] = update.FinishReason;
        }

        var choices = new TextGenerationChoice[n];
        for (var i = 0; i < n; i++)
        {
            choices[i] = new TextGenerationChoice
            {
                Index = i,
                Text = texts[i].ToString(),
                TokenIds = ids[i],
                FinishReason = reasons[i] ?? TextGenerationFinishReasons.Length,
                LogProbs = logProbs?[i],
            };
        }

        return new TextGenerationResult { ModelId = modelId!, Version = version!, Choices = choices, Usage = usage! };
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<TextGenerationUpdate> GenerateStreamingAsync(
        TextGenerationRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_disposed, this);
        TextGenerationParameters.Validate(request, _options.MaxChoices);
        var model = await _router.ResolveAsync(request.ModelId, request.Version, cancellationToken).ConfigureAwait(false);
        var decoder = await GetDecoderAsync(model, cancellationToken).ConfigureAwait(false);
        var engine = GetEngine(model, decoder);
        var prompt = Tokenize(decoder, engine.ContextLength, request, model.ModelId);
        var maxTokens = MaxTokens(engine.ContextLength, request, prompt.Length, model.ModelId);

        using var timeout = new CancellationTokenSource(request.Timeout ?? _options.DefaultTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var job = CreateJob(model, decoder, request, prompt, maxTokens, () => timeout.IsCancellationRequested, linked.Token);
        engine.Submit(job);
        try
        {
            await foreach (var update in job.Updates.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // ReadAllAsync hands out what is already buffered without looking at the token: a caller that cancelled
                // gets nothing more.
                cancellationToken.ThrowIfCancellationRequested();
                yield return update;
            }
        }
        finally
        {
            // The caller stopped reading (or everything was read): a running generation leaves at the next step.
            if (!job.Updates.Completion.IsCompleted) await linked.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async Task<TextGeneratorInfo> DescribeAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        var model = await _router.ResolveAsync(modelId, version, cancellationToken).ConfigureAwait(false);
        var decoder = await GetDecoderAsync(model, cancellationToken).ConfigureAwait(false);
        return new TextGeneratorInfo
        {
            ModelId = model.ModelId,
            Version = model.Version,
            ContextLength = GetEngine(model, decoder).ContextLength,
            VocabularySize = decoder.Tokenizer.VocabularySize,
            Tokenizer = decoder.Tokenizer.Format,
            ChatTemplate = decoder.Template.Name,
            EosTokenIds = decoder.EndTokens,
            KvCache = decoder.Layout.HasKvCache,
        };
    }

    /// <summary>
    /// The most characters per token of context a prompt may have before it is tokenized. Byte-pair encoding costs the
    /// square of a word's length, so a long run without spaces (200 KB of 'a') would hold a core for seconds only to be
    /// refused for its length; a real prompt has 3–6 characters a token, and text built of the longest GPT-2 tokens 32.
    /// </summary>
    internal const int MaxCharactersPerToken = 32;

    private static int[] Tokenize(DecoderModel decoder, int context, TextGenerationRequest request, string modelId)
    {
        int[] ids;
        var limit = context + 1;
        long characters = request.Prompt?.Length ?? 0;
        foreach (var message in request.Messages ?? []) characters += message.Content?.Length ?? 0;
        if (characters > (long)context * MaxCharactersPerToken)
        {
            throw new InvalidInputException(
                $"The prompt has {characters} characters; model '{modelId}' has a context of {context} tokens, so it takes at most "
                + $"{(long)context * MaxCharactersPerToken} characters ({MaxCharactersPerToken} a token). Shorten the prompt.");
        }

        try
        {
            if (request.PromptTokenIds is { } given)
            {
                if (decoder.Tokenizer.FirstUnknownId(given) is var at and >= 0)
                {
                    throw new InvalidInputException(
                        $"prompt: token id {given[at]} at position {at} is not in the vocabulary of model '{modelId}' (0..{decoder.Tokenizer.VocabularySize - 1}).");
                }

                ids = [.. given];
            }
            else if (request.Messages is { } messages)
            {
                // The template writes the special tokens itself (a Llama 3 prompt starts with <|begin_of_text|>), so the
                // tokenizer adds none, as Hugging Face's apply_chat_template does.
                var text = decoder.Template.Render(messages, decoder.Config.BosToken, decoder.Config.EosToken);
                ids = [.. decoder.Tokenizer.Tokenizer.EncodeToIds(text, limit, out _, out _)];
            }
            else
            {
                ids = decoder.Tokenizer.Encode(request.Prompt!, limit).Ids;
            }
        }
        catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
        {
            throw new InvalidModelConfigException("The model's tokenizer took too long on the prompt: a regular expression in its tokenizer.json backtracks without end on this text.");
        }

        if (ids.Length == 0)
        {
            throw new InvalidInputException($"The prompt has no tokens: model '{modelId}' tokenizes it to nothing.");
        }

        if (ids.Length >= context)
        {
            throw new InvalidInputException(
                $"The prompt has {(ids.Length > context ? $"more than {context}" : ids.Length)} tokens; model '{modelId}' has a context of "
                + $"{context} tokens, which leaves no room to generate. Shorten the prompt.");
        }

        return ids;
    }

    private static int MaxTokens(int context, TextGenerationRequest request, int promptTokens, string modelId)
    {
        var room = context - promptTokens;
        if (request.MaxTokens is not { } max) return room;
        if (max > room)
        {
            throw new InvalidInputException(
                $"max_tokens is {max}, but model '{modelId}' has a context of {context} tokens and the prompt takes {promptTokens}: "
                + $"at most {room} tokens can be generated.");
        }

        return max;
    }

    private static GenerationJob CreateJob(
        IServedModel model, DecoderModel decoder, TextGenerationRequest request, int[] prompt, int maxTokens, Func<bool> timedOut, CancellationToken cancellation)
    {
        var stops = new List<string>();
        if (request.Stop is { } requested) stops.AddRange(requested);
        if (request.Messages is not null) stops.AddRange(decoder.Template.StopTexts);
        var settings = new GenerationChoiceSettings(stops, request.LogProbs, request.TopLogProbs);
        var n = Math.Max(1, request.N);
        var choices = new GenerationSequence[n];
        var job = new GenerationJob
        {
            ModelId = model.ModelId,
            Version = model.Version,
            PromptIds = prompt,
            MaxTokens = maxTokens,
            Settings = settings,
            Choices = choices,
            Priority = request.Priority ?? RequestPriority.Normal,
            Cancellation = cancellation,
            TimedOut = timedOut,
            Unfinished = n,
        };
        for (var i = 0; i < n; i++)
        {
            choices[i] = new GenerationSequence
            {
                Job = job,
                Index = i,
                Sampler = TokenSampler.ForChoice(request, i),
                Detokenizer = new IncrementalDetokenizer(decoder.Tokenizer),
                StopMatcher = new StopSequenceMatcher(stops),
                Tokens = new List<int>(prompt.Length + Math.Min(maxTokens, 4096)),
            };
            choices[i].Tokens.AddRange(prompt);
        }

        return job;
    }

    /// <summary>The engine serving <paramref name="modelId"/> (tests).</summary>
    internal GenerationEngine EngineFor(string modelId)
    {
        foreach (var (served, engine) in _engines)
        {
            if (served.ModelId == modelId && served.IsAcceptingRequests) return engine;
        }

        throw new InvalidOperationException($"No engine serves '{modelId}'.");
    }

    private GenerationEngine GetEngine(IServedModel model, DecoderModel decoder)
    {
        if (_engines.TryGetValue(model, out var engine)) return engine;
        lock (_engineGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_engines.TryGetValue(model, out engine)) return engine;

            // Engines of handles that were withdrawn (a rolling update, a registry change) go once they are idle.
            foreach (var (served, old) in _engines)
            {
                if (!served.IsAcceptingRequests && old.IsIdle && _engines.TryRemove(served, out _)) old.Dispose();
            }

            // A deployment's own limits (seed 004's max_model_len and gpu_memory_utilization) narrow the service's.
            var limits = model.DeploymentId is { } deploymentId ? _deployments?.FindDeployment(deploymentId)?.Generation : null;
            var context = Math.Min(decoder.ContextLength, limits?.MaxContextLength ?? int.MaxValue);
            engine = new GenerationEngine(model, decoder, _options, context, limits?.KvCacheBytes ?? _options.KvCacheBytes, _metrics, _logger);
            _engines[model] = engine;
            return engine;
        }
    }

    private async Task<DecoderModel> GetDecoderAsync(IServedModel model, CancellationToken cancellationToken)
    {
        var key = (model.ModelId, model.Version);
        if (!_decoders.TryGetValue(key, out var lazy))
        {
            lazy = _decoders.GetOrAdd(key, new Lazy<Task<DecoderModel>>(() => LoadAsync(model.ModelId, model.Version, model.Signature)));
        }

        try
        {
            return await lazy.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (lazy.Value.IsFaulted && ex is not (UnsupportedTaskException or InvalidModelConfigException))
        {
            // Transient failures are tried again; a version that is no decoder stays so until the registry changes it.
            _decoders.TryRemove(new KeyValuePair<(string, string), Lazy<Task<DecoderModel>>>(key, lazy));
            throw;
        }
    }

    private async Task<DecoderModel> LoadAsync(string modelId, string version, ModelKit.Tensors.ModelSignature? signature)
    {
        var model = await _registry.GetModelAsync(modelId, CancellationToken.None).ConfigureAwait(false);
        var info = model.FindVersion(version) ?? throw new ModelNotFoundException($"Model '{modelId}' has no version '{version}'.");
        return DecoderModel.Create(modelId, signature ?? info.Signature, ModelTokenizers.FilesOf(info.Files), _options.ChatTemplate);
    }

    /// <summary>Stops every engine (running generations end with MODEL_UNAVAILABLE) and stops listening to the registry.</summary>
    public void Dispose()
    {
        lock (_engineGate)
        {
            if (_disposed) return;
            _disposed = true;
        }

        _registry.Changed -= _onChanged;
        foreach (var engine in _engines.Values) engine.Dispose();
        _engines.Clear();
        _metrics.Dispose();
    }
}
