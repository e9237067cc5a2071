using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using ModelKit.Caching;
using ModelKit.Diagnostics;
using ModelKit.Registry;
using ModelKit.Serving;
using ModelKit.Tensors;

namespace ModelKit.Inference;

/// <summary>
/// The entry point the adapters call: resolves the request's model once through the <see cref="IModelRouter"/>, checks
/// the task it names, and runs it on the served model (which validates, queues, batches and runs it). A request that
/// meets a served model withdrawn meanwhile (rolling update, stop, registry change) is resolved again.
/// </summary>
public sealed class InferenceService : IInferenceService, IDisposable
{
    private readonly ConcurrentDictionary<string, (string? Task, long ValidUntil)> _modelTasks = new(StringComparer.Ordinal);
    private readonly IModelRegistry _registry;
    private readonly IModelRouter _router;
    private readonly InferenceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ModelKitMetrics _metrics;
    private readonly EventHandler<Registry.ModelRegistryChange> _onRegistryChanged;

    /// <summary>Creates the service.</summary>
    public InferenceService(
        IModelRegistry registry,
        IModelRouter router,
        IOptions<InferenceOptions> options,
        TimeProvider? timeProvider = null,
        ModelKitMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _router = router ?? throw new ArgumentNullException(nameof(router));
        _options = options.Value;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _metrics = metrics ?? new ModelKitMetrics();
        _onRegistryChanged = (_, change) => _modelTasks.TryRemove(change.ModelId, out (string?, long) _);
        _registry.Changed += _onRegistryChanged;
    }

    /// <summary>Stops listening to the registry.</summary>
    public void Dispose() => _registry.Changed -= _onRegistryChanged;

    /// <inheritdoc />
    public ValueTask<IServedModel> ResolveAsync(string modelId, string? version = null, CancellationToken cancellationToken = default) =>
        _router.ResolveAsync(modelId, version, cancellationToken);

    /// <inheritdoc />
    public Task<InferenceResult> InferAsync(InferenceRequest request, CancellationToken cancellationToken = default) =>
        InferAsync(null, request, cancellationToken);

    /// <inheritdoc />
    public async Task<InferenceResult> InferAsync(IServedModel? model, InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = _timeProvider.GetTimestamp();
        using var activity = ModelKitMetrics.ActivitySource.StartActivity("modelkit.inference");
        activity?.SetTag(ModelKitTelemetry.ModelTag, request.ModelId);
        if (request.Task is not null) await CheckTaskAsync(request, cancellationToken).ConfigureAwait(false);
        if (model is not null && (model.ModelId != request.ModelId || (request.Version is not null && model.Version != request.Version)))
        {
            throw new ArgumentException($"The served model {model.ModelId}:{model.Version} is not the one the request names.", nameof(model));
        }

        Task<IReadOnlyDictionary<string, Tensor>> pending;
        for (var attempt = 0; ; attempt++)
        {
            model ??= await _router.ResolveAsync(request.ModelId, request.Version, cancellationToken).ConfigureAwait(false);
            try
            {
                pending = model.InferAsync(request.Inputs, request.Priority, request.Timeout ?? _options.DefaultTimeout, cancellationToken);
                break;
            }
            catch (ModelKitConflictException) when (!model.IsAcceptingRequests && attempt < 3)
            {
                // Withdrawn between routing and queueing (rolling update, stop, registry change): route again.
                model = null;
            }
        }

        activity?.SetTag(ModelKitTelemetry.VersionTag, model.Version);
        var outputs = await pending.ConfigureAwait(false);
        var elapsed = _timeProvider.GetElapsedTime(started);
        _metrics.InferenceDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>(ModelKitTelemetry.ModelTag, model.ModelId));
        return new InferenceResult { ModelId = model.ModelId, Version = model.Version, Outputs = outputs, Duration = elapsed };
    }

    /// <inheritdoc />
    public async ValueTask<ModelSignature?> GetSignatureAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        var model = await _router.ResolveAsync(modelId, version, cancellationToken).ConfigureAwait(false);
        return model.Signature;
    }

    /// <inheritdoc />
    public async Task<ModelCacheKey> PreloadAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        var model = await _router.ResolveAsync(modelId, version, cancellationToken).ConfigureAwait(false);
        await model.PreloadAsync(cancellationToken).ConfigureAwait(false);
        return model.CacheKey;
    }

    /// <inheritdoc />
    public async Task ValidateAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Task is not null) await CheckTaskAsync(request, cancellationToken).ConfigureAwait(false);
        var model = await _router.ResolveAsync(request.ModelId, request.Version, cancellationToken).ConfigureAwait(false);
        if (model.Signature is { } signature) InputValidator.Validate(model.ModelId, signature, request.Inputs);
    }

    // Only requests that name a task need the model's; it is read from the registry at most once per resolve interval
    // (and again at once after the registry reports a change of the model).
    private ValueTask CheckTaskAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        if (_modelTasks.TryGetValue(request.ModelId, out var known) && _timeProvider.GetTimestamp() < known.ValidUntil)
        {
            CheckTask(request, known.Task);
            return ValueTask.CompletedTask;
        }

        return CheckTaskSlowAsync(request, cancellationToken);
    }

    private async ValueTask CheckTaskSlowAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        var model = await _registry.FindModelAsync(request.ModelId, cancellationToken).ConfigureAwait(false)
            ?? throw new ModelNotFoundException($"Model '{request.ModelId}' is not registered.");
        var interval = (long)(ModelRouter.ResolveInterval.TotalSeconds * _timeProvider.TimestampFrequency);
        _modelTasks[request.ModelId] = (model.Task, _timeProvider.GetTimestamp() + interval);
        CheckTask(request, model.Task);
    }

    private static void CheckTask(InferenceRequest request, string? modelTask)
    {
        if (modelTask is not null && !string.Equals(modelTask, request.Task, StringComparison.OrdinalIgnoreCase))
        {
            throw new UnsupportedTaskException($"Model '{request.ModelId}' performs '{modelTask}', not '{request.Task}'; GET the supported tasks for the models of each task.");
        }
    }

    /// <inheritdoc />
    public async Task<InferenceBatchResult> InferManyAsync(IReadOnlyList<InferenceBatchItem> items, bool sequential = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count is < 1 or > InferenceBatchResult.MaxItems)
        {
            throw new InvalidInputException($"A batch must hold 1 to {InferenceBatchResult.MaxItems} requests (had {items.Count}).");
        }

        var started = _timeProvider.GetTimestamp();
        var results = new InferenceItemResult[items.Count];
        if (sequential)
        {
            for (var i = 0; i < results.Length; i++) results[i] = await ItemAsync(Start(items[i])).ConfigureAwait(false);
        }
        else
        {
            // All queued first, so that they can share batches; then collected in order.
            var tasks = new Task<InferenceResult>[items.Count];
            for (var i = 0; i < tasks.Length; i++) tasks[i] = Start(items[i]);
            for (var i = 0; i < tasks.Length; i++) results[i] = await ItemAsync(tasks[i]).ConfigureAwait(false);
        }

        return new InferenceBatchResult { Items = results, TotalTime = _timeProvider.GetElapsedTime(started) };

        Task<InferenceResult> Start(InferenceBatchItem item) =>
            item.Request is { } request ? InferAsync(request, cancellationToken) : Task.FromException<InferenceResult>(item.Error ?? new InvalidInputException("The item holds no request."));

        async Task<InferenceItemResult> ItemAsync(Task<InferenceResult> task)
        {
            try
            {
                return new InferenceItemResult { Result = await task.ConfigureAwait(false) };
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new InferenceItemResult { Error = ex };
            }
        }
    }
}
