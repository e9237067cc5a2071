using ModelKit.Caching;
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
/// <see cref="INodeGrain"/>. A holder that does not answer (its node died or left) is dropped from the placement and the
/// request is tried on the next holder, up to <see cref="ModelKitClusterOptions.ForwardAttempts"/> times; a ModelKit
/// error from the holder (invalid input, queue full, …) is the request's answer, not tried again. What cannot travel as
/// bytes (string tensors), streaming and leases are served on this node.
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
        if (inputs.Values.Any(t => !ForwardedTensor.CanForward(t))) return await (await LocalAsync(cancellationToken).ConfigureAwait(false)).InferAsync(inputs, priority, timeout, cancellationToken).ConfigureAwait(false);
        var request = new ForwardedInference(ModelId, requestedVersion, ForwardedTensor.FromAll(inputs), (int?)priority, timeout);
        for (var attempt = 1; ; attempt++)
        {
            var holders = _holders;
            if (holders.Length == 0 || holders.Contains(router.Self, StringComparer.Ordinal))
            {
                return await (await LocalAsync(cancellationToken).ConfigureAwait(false)).InferAsync(inputs, priority, timeout, cancellationToken).ConfigureAwait(false);
            }

            var holder = router.PickHolder(holders);
            ForwardedOutcome outcome;
            router.Started(holder);
            router.Metrics.OnForwarded(ModelId);
            try
            {
                outcome = await router.Grains.GetGrain<INodeGrain>(holder).InferAsync(request).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsNodeFailure(ex) && attempt < router.Options.ForwardAttempts)
            {
                router.Metrics.OnForwardFailed(ModelId);
                _holders = await router.DropHolderAsync(ModelId, holder, info.SizeBytes).ConfigureAwait(false);
                continue;
            }
            catch (Exception ex) when (IsNodeFailure(ex))
            {
                router.Metrics.OnForwardFailed(ModelId);
                throw new ModelUnavailableException(
                    $"Model '{ModelId}' is held by other nodes of the cluster, and none answered after {attempt} attempts; retry.", ex);
            }
            finally
            {
                router.Finished(holder);
            }

            if (outcome.ErrorCode is { } code) throw ForwardedError.From(code, outcome.ErrorMessage ?? code, outcome.RetryAfter);
            return ForwardedTensor.ToAll(outcome.Outputs!);
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

    // A node gone or unreachable, as opposed to an answer: the request never ran there, or its answer is lost.
    private static bool IsNodeFailure(Exception exception) =>
        exception is SiloUnavailableException or OrleansMessageRejectionException or ConnectionFailedException or TimeoutException;
}
