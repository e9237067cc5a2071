using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.Diagnostics;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;

namespace ModelKit.Serving;

/// <summary>
/// Owns every servable model. Deployments create their served models here and publish them through their table;
/// a model without a running deployment is served on demand (when <see cref="InferenceOptions.ServeUndeployedModels"/>)
/// with the default batching and device. Routes are kept for <see cref="ResolveInterval"/> and dropped at once when the
/// registry reports a change of the model; a version deleted from the registry stops being served on demand, and a
/// version whose content changed (deleted and registered again) gets a new served model and cache entry. While the
/// registry's database cannot be reached (<see cref="RegistryUnavailableException"/>), a model already served keeps
/// its route; only a model not yet loaded here fails with REGISTRY_UNAVAILABLE.
/// </summary>
public sealed class ModelRouter : IModelRouter, IAsyncDisposable, IDisposable
{
    /// <summary>How long a resolved route is trusted before the registry is asked again (changes made through this process's registry apply at once).</summary>
    public static readonly TimeSpan ResolveInterval = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<(string ModelId, string? Version), Route> _routes = new();
    private readonly ConcurrentDictionary<ModelCacheKey, ServedModel> _onDemand = new();
    private readonly ConcurrentDictionary<ModelCacheKey, (ServedModel Model, string Reason)> _unavailable = new();
    private readonly ConcurrentDictionary<string, long> _generations = new(StringComparer.Ordinal); // bumped by every registry change of a model
    private readonly IModelRegistry _registry;
    private readonly IModelCache _cache;
    private readonly InferenceOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ModelKitMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ExecutionDevice _defaultDevice;
    private DeploymentTable? _deployments;
    private int _disposed;

    /// <summary>Creates the router; it listens to <paramref name="registry"/>'s changes until disposed.</summary>
    public ModelRouter(
        IModelRegistry registry,
        IModelCache cache,
        IOptions<InferenceOptions> options,
        TimeProvider? timeProvider = null,
        ModelKitMetrics? metrics = null,
        ILogger<ModelRouter>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _registry = registry ?? throw new ArgumentNullException(nameof(registry));
        _cache = cache ?? throw new ArgumentNullException(nameof(cache));
        _options = options.Value;
        _options.DefaultBatching.Validate();
        _defaultDevice = ExecutionDevice.Parse(_options.DefaultDevice);
        _timeProvider = timeProvider ?? TimeProvider.System;
        _metrics = metrics ?? new ModelKitMetrics();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _registry.Changed += OnRegistryChanged;
    }

    /// <summary>The deployments whose running served models take their model's traffic (set by the deployment manager).</summary>
    internal void AttachDeployments(DeploymentTable deployments)
    {
        if (Interlocked.CompareExchange(ref _deployments, deployments, null) is { } attached && attached != deployments)
        {
            throw new InvalidOperationException("This router already routes to another deployment manager's deployments; create one router per deployment manager.");
        }
    }

    /// <inheritdoc />
    public ValueTask<IServedModel> ResolveAsync(string modelId, string? version = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(modelId)) throw new InvalidInputException("'model_id' is required.");
        if (_deployments is { } deployments)
        {
            var d = deployments.FindActive(modelId);
            for (var read = 0; d?.Runtime is { } deployed && d.State == DeploymentState.Running && (version is null || version == deployed.Version); read++)
            {
                // A rolling update publishes the new served model before it withdraws the old one: read again.
                if (deployed.IsAcceptingRequests || read == 2) return new ValueTask<IServedModel>(deployed);
            }

            if (!_options.ServeUndeployedModels)
            {
                throw new DeploymentNotRunningException(d is null
                    ? $"Model '{modelId}' is not deployed{(version is null ? string.Empty : $" in version {version}")}; deploy it first."
                    : $"Model '{modelId}' is deployed as '{d.Id}', which is {DeploymentManager.Name(d.State)}{(version is null ? string.Empty : $" and may not serve version {version}")}.");
            }
        }
        else if (!_options.ServeUndeployedModels)
        {
            throw new DeploymentNotRunningException($"Model '{modelId}' is not deployed, and serving undeployed models is turned off.");
        }

        return _routes.TryGetValue((modelId, version), out var route) && _timeProvider.GetTimestamp() < route.ValidUntil && route.Model.IsAcceptingRequests
            ? new ValueTask<IServedModel>(route.Model)
            : ResolveSlowAsync(modelId, version, cancellationToken);
    }

    private async ValueTask<IServedModel> ResolveSlowAsync(string modelId, string? version, CancellationToken cancellationToken)
    {
        // A registry change that lands while the registry is read makes what was read stale: read again, and retire what
        // the stale read served if the fresh one serves something else (a deleted version, say).
        ServedModel? previous = null;
        for (var attempt = 0; ; attempt++)
        {
            var generation = _generations.GetValueOrDefault(modelId);
            ServedModel served;
            try
            {
                served = await ResolveOnDemandAsync(modelId, version, cancellationToken).ConfigureAwait(false);
            }
            catch (RegistryUnavailableException) when (previous is null && _routes.TryGetValue((modelId, version), out var stale) && stale.Model.IsAcceptingRequests)
            {
                // The registry cannot say whether the model changed: serve what is loaded, and ask again an interval later
                // (not on every request, each of which would wait for the database to time out).
                _routes[(modelId, version)] = stale with { ValidUntil = _timeProvider.GetTimestamp() + (long)(ResolveInterval.TotalSeconds * _timeProvider.TimestampFrequency) };
                return stale.Model;
            }
            catch
            {
                if (previous is not null) RetireOne(previous);
                throw;
            }

            if (previous is not null && previous != served) RetireOne(previous);
            if (_generations.GetValueOrDefault(modelId) == generation || attempt == 3)
            {
                var interval = (long)(ResolveInterval.TotalSeconds * _timeProvider.TimestampFrequency);
                _routes[(modelId, version)] = new Route(served, _timeProvider.GetTimestamp() + interval);
                return served;
            }

            previous = served;
        }
    }

    private void RetireOne(ServedModel served)
    {
        if (_onDemand.TryRemove(new KeyValuePair<ModelCacheKey, ServedModel>(served.CacheKey, served))) _ = RetireAsync(served);
    }

    private async Task<ServedModel> ResolveOnDemandAsync(string modelId, string? version, CancellationToken cancellationToken)
    {
        ModelInfo model;
        ModelVersionInfo info;
        try
        {
            (model, info) = await FindServableAsync(modelId, version, cancellationToken).ConfigureAwait(false);
        }
        catch (ModelNotFoundException)
        {
            // Gone (perhaps deleted by another process over the same store): stop serving what is left of it on demand.
            Retire(modelId, version);
            throw;
        }

        var key = new ModelCacheKey(model.Id, info.Version, _defaultDevice);
        while (true)
        {
            if (_onDemand.TryGetValue(key, out var existing))
            {
                if (existing.Serves(info) && existing.IsAcceptingRequests) return existing;

                // Same id and version label, other content (deleted and registered again elsewhere): the old one goes.
                if (_onDemand.TryRemove(new KeyValuePair<ModelCacheKey, ServedModel>(key, existing))) _ = RetireAsync(existing);
                continue;
            }

            var created = CreateServedModel(model.Framework, info, _defaultDevice, _options.DefaultBatching, RequestPriority.Normal, deploymentId: null, _options.IntraOpThreads);
            if (_onDemand.TryAdd(key, created)) return created;
            await created.Queue.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The model and the version a request would be served (MODEL_NOT_FOUND when it does not exist or is not ready).</summary>
    internal async Task<(ModelInfo Model, ModelVersionInfo Version)> FindServableAsync(string modelId, string? version, CancellationToken cancellationToken)
    {
        var model = await _registry.FindModelAsync(modelId, cancellationToken).ConfigureAwait(false)
            ?? throw new ModelNotFoundException($"Model '{ClientText.Quote(modelId)}' does not exist.");
        var info = model.FindVersion(version) ?? throw new ModelNotFoundException(version is null
            ? $"Model '{modelId}' has no ready version yet."
            : $"Model '{ClientText.Quote(modelId)}' has no version '{ClientText.Quote(version)}'; it has: {string.Join(", ", model.Versions.Select(v => v.Version))}.");
        if (info.Status != ModelVersionStatus.Ready || info.Files.Count == 0)
        {
            throw new ModelNotFoundException($"Version '{info.Version}' of model '{modelId}' is {ModelVersionStatusNames.Name(info.Status)}, not ready.");
        }

        return (model, info);
    }

    /// <summary>Identifies a version's content: the sha256 of each of its files, in order.</summary>
    internal static string ContentIdOf(ModelVersionInfo version)
    {
        if (version.Files.Count == 1) return version.Files[0].Sha256;
        var id = new System.Text.StringBuilder();
        foreach (var file in version.Files) id.Append(file.Sha256).Append(':').Append(file.Name).Append(';');
        return id.ToString();
    }

    /// <summary>The one place a served model is built (on demand here, for deployments by the deployment manager).</summary>
    internal ServedModel CreateServedModel(
        string framework, ModelVersionInfo version, ExecutionDevice device, BatchingOptions batching, RequestPriority priority, string? deploymentId, int? intraOpThreads)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var key = new ModelCacheKey(version.ModelId, version.Version, device);
        var load = new ModelLoadRequest(version.Files[0].Path)
        {
            Framework = framework,
            Device = device,
            IntraOpThreads = intraOpThreads,
            ConcurrentRuns = batching.Instances,
            ContentId = ContentIdOf(version),
        };
        return new ServedModel(this, _registry, _cache, version, load, key, batching, priority, deploymentId, _timeProvider, _metrics, _logger);
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, BatchQueueStats> GetQueueStats()
    {
        var result = new Dictionary<string, BatchQueueStats>();
        if (_deployments is { } deployments)
        {
            foreach (var d in deployments.All())
            {
                if (d.Runtime is { } r) result[d.Id] = r.GetStats();
            }
        }

        foreach (var (key, served) in _onDemand) result[$"{key.ModelId}:{key.Version}"] = served.GetStats();
        return result;
    }

    /// <inheritdoc />
    public BatchQueueStats GetQueueStats(string modelId)
    {
        var queues = new List<BatchQueueStats>();
        if (_deployments is { } deployments)
        {
            foreach (var d in deployments.All())
            {
                if (d.ModelId == modelId && d.Runtime is { } r) queues.Add(r.GetStats());
            }
        }

        foreach (var (key, served) in _onDemand)
        {
            if (key.ModelId == modelId) queues.Add(served.GetStats());
        }

        return BatchQueueStats.Sum(queues);
    }

    /// <inheritdoc />
    public IReadOnlyList<ModelUnavailability> GetUnavailable()
    {
        var result = new List<ModelUnavailability>();
        foreach (var (model, reason) in _unavailable.Values)
        {
            if (Current().Contains(model)) result.Add(new ModelUnavailability(model.ModelId, model.Version, model.DeploymentId, reason));
        }

        // Files deleted under a served model are found before the next load needs them.
        foreach (var served in Current())
        {
            if (_unavailable.ContainsKey(served.CacheKey)) continue;
            foreach (var file in served.VersionInfo.Files)
            {
                if (File.Exists(file.Path)) continue;
                result.Add(new ModelUnavailability(served.ModelId, served.Version, served.DeploymentId,
                    $"Its artifact '{file.Name}' is missing on the server; it serves from memory until it is unloaded. Upload the version again."));
                break;
            }
        }

        return result;
    }

    internal void ReportUnavailable(ServedModel model, string reason) => _unavailable[model.CacheKey] = (model, reason);

    internal void ReportAvailable(ServedModel model)
    {
        if (!_unavailable.IsEmpty) _unavailable.TryRemove(model.CacheKey, out _);
    }


    private IEnumerable<ServedModel> Current()
    {
        if (_deployments is { } deployments)
        {
            foreach (var d in deployments.All())
            {
                if (d.Runtime is { } r) yield return r;
            }
        }

        foreach (var served in _onDemand.Values) yield return served;
    }

    // The registry committed a change: routes of the model go at once; a version that was deleted (or failed) is no
    // longer served on demand, and its cache entry goes once its running batches finish.
    private void OnRegistryChanged(object? sender, ModelRegistryChange change)
    {
        _generations.AddOrUpdate(change.ModelId, 1, static (_, g) => g + 1);
        foreach (var key in _routes.Keys)
        {
            if (key.ModelId == change.ModelId) _routes.TryRemove(key, out _);
        }

        foreach (var key in _unavailable.Keys)
        {
            if (key.ModelId == change.ModelId) _unavailable.TryRemove(key, out _);
        }

        if (change.Kind is not (ModelRegistryChangeKind.ModelDeleted or ModelRegistryChangeKind.VersionDeleted or ModelRegistryChangeKind.VersionFailed)) return;
        Retire(change.ModelId, change.Version, change.Kind.ToString());
    }

    // Stops serving the model (one version when named) on demand.
    private void Retire(string modelId, string? version, string reason = "not found")
    {
        foreach (var (key, served) in _onDemand)
        {
            if (key.ModelId != modelId || (version is not null && key.Version != version)) continue;
            if (_onDemand.TryRemove(new KeyValuePair<ModelCacheKey, ServedModel>(key, served)))
            {
                Log.ServedModelRetired(_logger, reason, modelId, key.ToString());
                _ = RetireAsync(served);
            }
        }
    }

    // Refuses new requests, lets the accepted ones finish (at most the drain timeout), and frees the cache entry unless
    // someone else serves or pins that key (a deployment shares it). Content under a key is checked on every lease, so
    // an entry left behind is never served in place of other content; it only waits for eviction.
    private async Task RetireAsync(ServedModel served)
    {
        served.Withdraw();
        try
        {
            using var timeout = new CancellationTokenSource(DrainTimeout, _timeProvider);
            try
            {
                await served.Queue.StopAsync(drain: true, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                await served.Queue.StopAsync(drain: false).ConfigureAwait(false);
            }

            await served.Queue.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            if (!Current().Any(s => s.CacheKey == served.CacheKey) && _cache.GetStats().Find(served.CacheKey) is { Pinned: false }) _cache.Remove(served.CacheKey);
        }
    }

    /// <summary>How long a retired on-demand model may take to finish what it accepted.</summary>
    internal static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);


    /// <summary>Stops every on-demand queue (running batches finish) and stops listening to the registry.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _registry.Changed -= OnRegistryChanged;
        foreach (var served in _onDemand.Values) await served.Queue.DisposeAsync().ConfigureAwait(false);
        _onDemand.Clear();
        _routes.Clear();
    }

    /// <summary>Stops every on-demand queue, blocking until running batches finish.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private sealed record Route(ServedModel Model, long ValidUntil);
}
