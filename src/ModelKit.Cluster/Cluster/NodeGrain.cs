using ModelKit.Caching;
using ModelKit.Serving;
using Orleans.Concurrency;

namespace ModelKit.Cluster;

/// <summary>
/// Runs forwarded requests through this node's own router (the local one, never the cluster's: a forwarded request is
/// not forwarded again). Reentrant and interleaving: the grain only hands requests to the model's batch queue, where
/// they batch with the node's own requests.
/// </summary>
[NodePlacement]
[Reentrant]
internal sealed partial class NodeGrain(
    ModelRouter router, IModelCache cache, Registry.ModelRegistry registry, Deployments.DeploymentManager deployments, ClusterDeploymentStore store,
    Microsoft.Extensions.Logging.ILogger<NodeGrain> logger) : Grain, INodeGrain
{
    /// <summary>The most bytes one <see cref="ReadContentAsync"/> returns.</summary>
    public const int MaxReadBytes = 1 << 20;

    public async Task<ForwardedOutcome> InferAsync(ForwardedInference request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var token = cancellationToken; // the asking node's: Orleans cancels it here when that caller gives up
        try
        {
            var inputs = ForwardedTensor.ToAll(request.Inputs);
            for (var attempt = 0; ; attempt++)
            {
                var model = await router.ResolveAsync(request.ModelId, request.Version, token).ConfigureAwait(true);
                try
                {
                    var outputs = await model.InferAsync(inputs, (Scheduling.RequestPriority?)request.Priority, request.Timeout, token)
                        .ConfigureAwait(ConfigureAwaitOptions.ContinueOnCapturedContext);
                    return new ForwardedOutcome(ForwardedTensor.FromAll(outputs), null, null, null);
                }
                catch (ModelKitConflictException) when (attempt == 0)
                {
                    // Withdrawn while the request was handed over (a rolling update, an eviction): resolve again, once.
                }
            }
        }
        catch (ModelKitException ex)
        {
            return new ForwardedOutcome(null, ex.ErrorCode, ex.Message, ex switch
            {
                QueueFullException full => full.RetryAfter,
                RegistryUnavailableException unavailable => unavailable.RetryAfter,
                _ => null,
            });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A fault of this node, not the request's: the asking node answers INFERENCE_FAILED; the log here has it.
            LogForwardedFailed(logger, request.ModelId, ex);
            return new ForwardedOutcome(null, ModelKitErrorCodes.InferenceFailed, $"Model '{request.ModelId}' failed on the node holding it; its log has the details.", null);
        }
    }

    public async Task<DeploymentOutcome> DeploymentAsync(DeploymentCommand command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        try
        {
            var id = command.DeploymentId;
            var info = command.Kind switch
            {
                DeploymentCommandKind.Deploy => await deployments.DeployAsync(command.Spec!, cancellationToken).ConfigureAwait(true),
                DeploymentCommandKind.Adopt => await deployments.AdoptAsync(
                    ClusterDeploymentStore.Deserialize(command.Record!) ?? throw new InvalidModelConfigException($"Deployment '{id}' was saved empty."),
                    "node " + command.From, cancellationToken).ConfigureAwait(true),
                DeploymentCommandKind.WaitUntilRunning => await deployments.WaitUntilRunningAsync(id, cancellationToken).ConfigureAwait(true),
                DeploymentCommandKind.Scale => deployments.Scale(id, command.Replicas, command.MinReplicas, command.MaxReplicas),
                DeploymentCommandKind.Update => await deployments.UpdateAsync(id, command.Update!, cancellationToken).ConfigureAwait(true),
                DeploymentCommandKind.Stop => await deployments.StopAsync(id, cancellationToken).ConfigureAwait(true),
                DeploymentCommandKind.Start => await deployments.StartAsync(id, cancellationToken).ConfigureAwait(true),
                DeploymentCommandKind.Restart => await deployments.RestartAsync(id, cancellationToken).ConfigureAwait(true),
                DeploymentCommandKind.Delete => await DeleteAsync(id, cancellationToken).ConfigureAwait(true),
                DeploymentCommandKind.Logs or DeploymentCommandKind.Get => deployments.GetDeployment(id),
                _ => throw new InvalidInputException($"Unknown deployment operation {command.Kind}."),
            };
            var logs = command.Kind == DeploymentCommandKind.Logs ? deployments.GetLogs(id, command.Lines).ToArray() : null;
            // A change is answered once it is saved: the cluster keeps it even if this node dies right after.
            if (command.Kind is not (DeploymentCommandKind.Logs or DeploymentCommandKind.Get or DeploymentCommandKind.WaitUntilRunning))
            {
                await store.FlushAsync(TimeSpan.FromSeconds(5), cancellationToken).ConfigureAwait(true);
            }

            return new DeploymentOutcome(info, logs, null, null, null);
        }
        catch (ModelKitException ex)
        {
            return new DeploymentOutcome(null, null, ex.ErrorCode, ex.Message, (ex as RegistryUnavailableException)?.RetryAfter);
        }
    }

    private async Task<Deployments.DeploymentInfo> DeleteAsync(string deploymentId, CancellationToken cancellationToken)
    {
        var info = deployments.GetDeployment(deploymentId);
        await deployments.DeleteAsync(deploymentId, cancellationToken).ConfigureAwait(true);
        return info;
    }

    public async Task<string?> CopyVersionAsync(string modelId, string version)
    {
        try
        {
            var model = await registry.GetModelAsync(modelId).ConfigureAwait(true);
            var found = model.Versions.FirstOrDefault(v => v.Version == version);
            if (found is null) return $"version {version} is not in the registry";
            await registry.VerifyArtifactsAsync(found).ConfigureAwait(true); // fetches, by hash, what this node lacks
            return null;
        }
        catch (ModelKitException ex)
        {
            return ex.Message;
        }
    }

    public Task<bool> HasContentAsync(string sha256) => Task.FromResult(registry.FindStoredContent(sha256) is not null);

    public async Task<byte[]?> ReadContentAsync(string sha256, long offset, int count)
    {
        if (registry.FindStoredContent(sha256) is not { } path || offset < 0 || count is < 1 or > MaxReadBytes) return null;
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, useAsync: true);
            if (offset >= file.Length) return [];
            file.Position = offset;
            var buffer = new byte[(int)Math.Min(count, file.Length - offset)];
            await file.ReadExactlyAsync(buffer).ConfigureAwait(true);
            return buffer;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null; // deleted meanwhile: the asking node tries another copy
        }
    }

    public Task<NodeLoad> GetLoadAsync()
    {
        var stats = cache.GetStats();
        var queued = 0;
        foreach (var queue in router.GetQueueStats().Values) queued += queue.QueueLength;
        var loaded = stats.Entries.Select(e => e.Key.ModelId).Distinct(StringComparer.Ordinal).ToArray();
        var byModel = loaded.ToDictionary(m => m, m => router.GetQueueStats(m).QueueLength, StringComparer.Ordinal);
        return Task.FromResult(new NodeLoad(this.GetPrimaryKeyString(), stats.MemoryLimitBytes, stats.MemoryBytes, queued, loaded, stats.MaxModels, byModel));
    }

    [Microsoft.Extensions.Logging.LoggerMessage(1, Microsoft.Extensions.Logging.LogLevel.Error, "A request for model {ModelId} forwarded from another node failed here.")]
    private static partial void LogForwardedFailed(Microsoft.Extensions.Logging.ILogger logger, string modelId, Exception exception);
}
