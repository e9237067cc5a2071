using ModelKit.Caching;
using ModelKit.Inference;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;
using ModelKit.Tensors;
using Orleans.Runtime;
using Orleans.Runtime.Messaging;

namespace ModelKit.Cluster;

/// <summary>
/// A model that another node holds, as this node serves it: the signature and version come from the registry (so the
/// request is checked here, with the same errors), and each request goes over the cluster to a holder's
/// <see cref="INodeGrain"/>. A holder that is gone (its node died or left) or cannot run the model (its files, memory or
/// device: MODEL_UNAVAILABLE, INSUFFICIENT_RESOURCES, DEVICE_UNAVAILABLE) is dropped from the placement and the request
/// is tried on the next holder, up to <see cref="ModelKitClusterOptions.ForwardAttempts"/> times, then served here; any
/// other ModelKit error from the holder (queue full, timeout, …) is the request's answer. Inputs are checked against the
/// signature here, before they travel. What cannot travel as bytes (string tensors), streaming and leases are served on
/// this node.
/// </summary>
internal sealed class ForwardedServedModel(ClusterModelRouter router, string modelId, string? requestedVersion, ModelVersionInfo info, string[] holders) : IServedModel
{
    private string[] _holders = holders;

    public string ModelId { get; } = modelId;

    public string Version => info.Version;

    public string? DeploymentId => null;

    public ModelCacheKey CacheKey { get; } = new(modelId, info.Version, Backends.ExecutionDevice.Cpu);

    public ModelSignature? Signature => info.Signature;

    public bool IsAcceptingRequests => true;

    /// <summary>The holders this model forwards to.</summary>
    public string[] Holders => _holders;

    /// <summary>Whether this stands for the same registered content as <paramref name="version"/>.</summary>
    public bool Serves(ModelVersionInfo version) => version.Version == info.Version && version.Sha256 == info.Sha256;

    public async Task<IReadOnlyDictionary<string, Tensor>> InferAsync(
        IReadOnlyDictionary<string, Tensor> inputs, RequestPriority? priority = null, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        async Task<IReadOnlyDictionary<string, Tensor>> ServeHereAsync() =>
            await (await LocalAsync(cancellationToken).ConfigureAwait(false)).InferAsync(inputs, priority, timeout, cancellationToken).ConfigureAwait(false);

        if (info.Signature is { } signature) InputValidator.Validate(ModelId, signature, inputs); // refused here, before anything travels
        if (!ForwardedTensor.CanForwardAll(inputs)) return await ServeHereAsync().ConfigureAwait(false);
        // The version resolved here, so that the answer's version is the one that ran even while the default changes.
        var request = new ForwardedInference(ModelId, info.Version, ForwardedTensor.FromAll(inputs), (int?)priority, timeout);
        for (var attempt = 1; ; attempt++)
        {
            var holders = _holders;
            if (holders.Length == 0 || holders.Contains(router.Self, StringComparer.Ordinal))
            {
                return await ServeHereAsync().ConfigureAwait(false);
            }

            var holder = router.PickHolder(holders);
            ForwardedOutcome outcome;
            router.Started(holder);
            router.Metrics.OnForwarded(ModelId);
            try
            {
                outcome = await router.Grains.GetGrain<INodeGrain>(holder).InferAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsNodeFailure(ex))
            {
                outcome = new ForwardedOutcome(null, NodeGone, ex.Message, null);
            }
            finally
            {
                router.Finished(holder);
            }

            if (outcome.ErrorCode is null) return ForwardedTensor.ToAll(outcome.Outputs!);
            if (!CannotServeThere(outcome.ErrorCode)) throw ForwardedError.From(outcome.ErrorCode, outcome.ErrorMessage ?? outcome.ErrorCode, outcome.RetryAfter);

            // The holder is gone, or cannot serve the model (its files, memory or device): the request did not run there.
            // Drop it and try the next holder; after the last attempt, serve it here rather than not at all.
            router.Metrics.OnForwardFailed(ModelId);
            router.LogHolderFailed(ModelId, holder, outcome.ErrorCode, outcome.ErrorMessage);
            if (attempt >= router.Options.ForwardAttempts)
            {
                return await ServeHereAsync().ConfigureAwait(false);
            }

            _holders = await router.DropHolderAsync(ModelId, holder, info.SizeBytes).ConfigureAwait(false);
        }
    }

    public async IAsyncEnumerable<IReadOnlyDictionary<string, Tensor>> StreamAsync(
        IReadOnlyDictionary<string, Tensor> inputs, RequestPriority? priority = null, TimeSpan? timeout = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var local = await LocalAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var outputs in local.StreamAsync(inputs, priority, timeout, cancellationToken).ConfigureAwait(false)) yield return outputs;
    }

    public async ValueTask<ModelLease> LeaseAsync(CancellationToken cancellationToken = default) =>
        await (await LocalAsync(cancellationToken).ConfigureAwait(false)).LeaseAsync(cancellationToken).ConfigureAwait(false);

    public Task PreloadAsync(CancellationToken cancellationToken = default) => Task.CompletedTask; // the holders load it on their first request

    public BatchQueueStats GetStats() => new();

    private ValueTask<IServedModel> LocalAsync(CancellationToken cancellationToken) => router.Local.ResolveAsync(ModelId, requestedVersion, cancellationToken);

    // Not a ModelKit code: the holder's node is gone or unreachable.
    private const string NodeGone = "NODE_GONE";

    // A node gone or unreachable, as opposed to an answer: the request never ran there, or its answer is lost. A timeout
    // is not one of these (a slow holder is still running the request; Orleans' response timeout is set above any
    // inference timeout, and a dead node's outstanding calls fail once membership declares it dead).
    internal static bool IsNodeFailure(Exception exception) =>
        exception is SiloUnavailableException or OrleansMessageRejectionException or ConnectionFailedException;

    // Answers that say the holder could not run the model at all, so that another node may.
    private static bool CannotServeThere(string code) =>
        code is NodeGone or ModelKitErrorCodes.ModelUnavailable or ModelKitErrorCodes.InsufficientResources or ModelKitErrorCodes.DeviceUnavailable;
}
