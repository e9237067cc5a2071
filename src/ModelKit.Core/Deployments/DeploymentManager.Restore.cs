using Microsoft.Extensions.Logging;
using ModelKit.Backends;
using ModelKit.Registry;
using ModelKit.Scheduling;

namespace ModelKit.Deployments;

// Saved deployments: written after every change, brought back at start.
public sealed partial class DeploymentManager
{
    /// <summary>
    /// Brings back the deployments saved under the data directory (<see cref="DeploymentOptions.Persist"/>): those that
    /// were meant to run start coming up in the background, the stopped ones are listed as stopped. One whose model or
    /// version is gone is listed as failed with the reason. Deployments already known are left alone. The host calls
    /// this at start; call it yourself when you use the services without a host. Returns how many were restored.
    /// </summary>
    public async Task<int> RestoreAsync(CancellationToken cancellationToken = default)
    {
        if (_store is null) return 0;
        var restored = 0;
        foreach (var record in _store.Load())
        {
            if (_table.Find(record.DeploymentId) is not null) continue;
            await RestoreOneAsync(record, _store.Location, adopting: false, cancellationToken).ConfigureAwait(false);
            restored++;
        }

        return restored;
    }

    /// <summary>
    /// Takes over a deployment another node ran (it left the cluster): brought back here as a restart would, saved as this
    /// node's, and returned. A deployment already known here is returned as it is. While the registry cannot be asked,
    /// REGISTRY_UNAVAILABLE is thrown and nothing is taken over (the cluster tries again), rather than the deployment being
    /// listed as failed.
    /// </summary>
    internal async Task<DeploymentInfo> AdoptAsync(PersistedDeployment record, string from, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_table.Find(record.DeploymentId) is { } known) return known.Snapshot(_cache);
        var adopted = await RestoreOneAsync(record, from, adopting: true, cancellationToken).ConfigureAwait(false);
        Persist();
        return adopted.Snapshot(_cache);
    }

    // One saved deployment, listed again: stopped as it was, failed when its model or version is gone, else coming up.
    private async Task<Deployment> RestoreOneAsync(PersistedDeployment record, string from, bool adopting, CancellationToken cancellationToken)
    {
        {
            var now = _timeProvider.GetUtcNow();
            ModelInfo? model = null;
            ModelVersionInfo? version = null;
            string? failure = null;
            try
            {
                (model, version) = await _router.FindServableAsync(record.ModelId, record.Version, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelKitException ex) when ((record.DownloadTaskId is null || ex is not ModelNotFoundException) && !(adopting && ex is RegistryUnavailableException))
            {
                failure = ex.Message;
            }
            catch (ModelNotFoundException)
            {
                // Still downloading when the process stopped: its bring-up waits for the download again.
            }

            var d = new Deployment(record.DeploymentId, record.ModelId, _options.MaxLogEntries, record.DownloadTaskId)
            {
                DownloadSource = record.DownloadSource,
                Framework = model?.Framework ?? "onnx",
                Version = record.Version,
                VersionInfo = version,
                Device = ExecutionDevice.TryParse(record.Device, out var device) ? device : ExecutionDevice.Cpu,
                Batching = new BatchingOptions
                {
                    MaxBatchSize = record.MaxBatchSize,
                    MaxBatchElements = record.MaxBatchElements,
                    MaxQueueDelay = TimeSpan.FromMilliseconds(record.MaxQueueDelayMs),
                    MaxQueueSize = record.MaxQueueSize,
                    InlineExecution = record.InlineExecution,
                },
                Desired = record.Replicas,
                Min = record.MinReplicas,
                Max = record.MaxReplicas,
                TargetQueueDepth = record.TargetQueueDepth,
                MemoryRequest = record.MemoryRequestBytes,
                DefaultPriority = record.DefaultPriority,
                IntraOpThreads = record.IntraOpThreads,
                Generation = record.MaxContextLength is null && record.KvCacheBytes is null
                    ? null : new GenerationLimits { MaxContextLength = record.MaxContextLength, KvCacheBytes = record.KvCacheBytes },
                CreatedAt = record.CreatedAt,
                UpdatedAt = now,
                DesiredRunning = record.Running,
                Environment = record.Environment ?? new Dictionary<string, string>(),
                State = failure is null ? DeploymentState.Stopped : DeploymentState.Failed,
                FailureReason = failure is null ? null : "Could not be restored: " + failure,
                FailureCode = failure is null ? null : ModelKitErrorCodes.DeploymentFailed,
            };
            _table.AddInactive(d);
            d.SetSettled();
            d.AddLog(now, failure is null ? LogLevel.Information : LogLevel.Error,
                failure is null ? $"Restored from {from}." : $"Could not be restored from {from}: {failure}");
            if (failure is not null || !record.Running) return d;
            try
            {
                _table.Activate(d, _cache.GetStats().MemoryLimitBytes);
                StartBringUp(d);
            }
            catch (ModelKitException ex)
            {
                lock (d.Gate)
                {
                    d.State = DeploymentState.Failed;
                    d.FailureReason = "Could not be restored: " + ex.Message;
                    d.FailureCode = ex.ErrorCode;
                }

                d.AddLog(now, LogLevel.Error, "Could not start: " + ex.Message);
            }

            return d;
        }
    }

    private void Persist()
    {
        if (_store is null) return;
        try
        {
            _store.Save(_table.All().Select(static d => d.ToRecord()));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Log.DeploymentsNotSaved(_logger, _store.Location, ex);
        }
    }
}
