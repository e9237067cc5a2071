using Microsoft.Extensions.Logging;
using ModelKit.Backends;
using ModelKit.Caching;
using ModelKit.Registry;
using ModelKit.Scheduling;
using ModelKit.Serving;

namespace ModelKit.Deployments;

// Bring-up (prepare → load → warm up → register), rolling update, stop and drain.
public sealed partial class DeploymentManager
{
    private void StartBringUp(Deployment d)
    {
        var cts = new CancellationTokenSource();
        lock (d.Gate)
        {
            d.ResetStages();
            d.State = DeploymentState.Pending;
            d.FailureReason = null;
            d.FailureCode = null;
            d.BringUp = cts;
            d.Touch(_timeProvider.GetUtcNow());
            d.ResetSettled();
        }

        d.BringUpTask = Task.Run(() => BringUpAsync(d, cts.Token), CancellationToken.None);
    }

    private async Task BringUpAsync(Deployment d, CancellationToken cancellationToken)
    {
        if (d.DownloadTaskId is { } taskId)
        {
            try
            {
                await AwaitDownloadAsync(d, taskId, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, "Bring-up cancelled while the model was downloading.");
                d.SetSettled();
                return;
            }
            catch (Exception ex)
            {
                FailBringUp(d, ex);
                d.SetSettled();
                return;
            }
        }

        ModelCacheKey key;
        ModelVersionInfo version;
        bool pin;
        lock (d.Gate)
        {
            d.State = DeploymentState.Loading;
            key = new ModelCacheKey(d.ModelId, d.Version, d.Device);
            version = d.VersionInfo ?? throw new InvalidOperationException($"Deployment '{d.Id}' has no version to bring up.");
            pin = d.Min > 0;
        }

        Log.DeploymentState(_logger, d.Id, "loading");
        var pinned = false;
        ServedModel? runtime = null;
        try
        {
            runtime = await PrepareRuntimeAsync(d, d.Framework, version, d.Device, d.Batching, pin, cancellationToken).ConfigureAwait(false);
            pinned = pin;
            lock (d.Gate)
            {
                cancellationToken.ThrowIfCancellationRequested();
                d.Runtime = runtime;
                d.PinnedKey = pin ? key : null;
                d.State = DeploymentState.Running;
                d.StartedAt = _timeProvider.GetUtcNow();
                d.Touch(d.StartedAt.Value);
                d.AddLog(d.StartedAt.Value, LogLevel.Information, $"Running with {d.Desired} replica(s).");
            }

            Log.DeploymentState(_logger, d.Id, "running");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            if (pinned) _cache.Unpin(key);
            if (runtime is not null) await runtime.Queue.DisposeAsync().ConfigureAwait(false);
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, "Bring-up cancelled.");
        }
        catch (Exception ex)
        {
            if (pinned) _cache.Unpin(key);
            FailBringUp(d, ex);
        }
        finally
        {
            d.SetSettled();
        }
    }

    private void FailBringUp(Deployment d, Exception ex)
    {
        var reason = ex.Message;
        lock (d.Gate)
        {
            d.State = DeploymentState.Failed;
            d.FailureReason = reason;
            d.FailureCode = ex is ModelKitException mk ? mk.ErrorCode : ModelKitErrorCodes.DeploymentFailed;
            d.Touch(_timeProvider.GetUtcNow());
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Error, "Failed: " + reason);
        }

        _table.Deactivate(d);
        Log.DeploymentFailed(_logger, d.Id, reason, ex);
    }

    /// <summary>
    /// The download stage: follows the deployment's download (its progress is the stage's message) until it completes, then
    /// takes the version it registered. A download that fails, is cancelled or deleted fails the deployment with its reason.
    /// A deployment whose model is already in the registry (restarted after the download) passes at once.
    /// </summary>
    private async Task AwaitDownloadAsync(Deployment d, string taskId, CancellationToken cancellationToken)
    {
        if (d.VersionInfo is not null)
        {
            // Restarted after its download: the stage stays as it ended (or, restored by a new process, reads completed).
            d.CompleteDownloadStageIfPending($"downloaded earlier (task {taskId})");
            return;
        }

        d.BeginDownloadStage(_timeProvider);

        var downloads = _downloads ?? throw new InvalidModelConfigException("Deploying from a source needs a download manager; none is configured.");
        d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Waiting for download {taskId}.");
        Downloads.DownloadTaskInfo? last = null;
        var deleted = false;
        try
        {
            await foreach (var e in downloads.WatchAsync(taskId, cancellationToken).ConfigureAwait(false))
            {
                last = e.Task;
                deleted = e.Kind == Downloads.DownloadEventKind.Deleted;
                d.ReportDownload(DescribeDownload(e.Task), e.Task.Status is Downloads.DownloadStatus.Registering ? 100 : e.Task.BytesTotal is null ? null : e.Task.Percent);
            }
        }
        catch (DownloadNotFoundException)
        {
            deleted = true;
        }

        if (deleted || last is null || last.Status != Downloads.DownloadStatus.Completed)
        {
            var why = deleted ? "was deleted" : last?.Status == Downloads.DownloadStatus.Failed ? $"failed ({last.Error?.Code}): {last.Error?.Message}" : "was cancelled";
            d.EndDownloadStage(DeploymentStageStatus.Failed, $"download {taskId} {why}", _timeProvider);
            throw new DeploymentFailedException($"The model's download {taskId} {why}");
        }

        var (model, version) = await _router.FindServableAsync(d.ModelId, last.RegisteredVersion, cancellationToken).ConfigureAwait(false);
        lock (d.Gate)
        {
            d.Framework = model.Framework;
            d.Version = version.Version;
            d.VersionInfo = version;
        }

        d.ReportDownload($"{DescribeBytes(last.BytesDownloaded)} downloaded; registered as version {version.Version}", 100);
        d.EndDownloadStage(DeploymentStageStatus.Completed, $"{DescribeBytes(last.BytesDownloaded)} downloaded; registered as version {version.Version}", _timeProvider);
        d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Download {taskId} completed: version {version.Version}.");
        Persist();
    }

    private static string DescribeDownload(Downloads.DownloadTaskInfo task) => task.Status switch
    {
        Downloads.DownloadStatus.Downloading when task.BytesTotal is { } total =>
            $"{task.Percent:0.#}% ({DescribeBytes(task.BytesDownloaded)} of {DescribeBytes(total)})",
        Downloads.DownloadStatus.Downloading => $"{DescribeBytes(task.BytesDownloaded)} received",
        Downloads.DownloadStatus.Registering => "registering the downloaded files",
        _ => task.Status.ToString().ToLowerInvariant(),
    };

    private static string DescribeBytes(long bytes) => ModelCache.FormatBytes(bytes);

    // Runs the four stages for one served model: checks, load (pinned when asked), warm-up, queue. The served model is
    // built by the router, the one place that builds them; it takes traffic once the deployment publishes it.
    private async Task<ServedModel> PrepareRuntimeAsync(
        Deployment d, string framework, ModelVersionInfo version, ExecutionDevice device, BatchingOptions batching, bool pin, CancellationToken cancellationToken)
    {
        ServedModel served;
        lock (d.Gate)
        {
            served = _router.CreateServedModel(framework, version, device, batching with { Instances = d.Desired }, d.DefaultPriority, d.Id, d.IntraOpThreads);
        }

        var key = served.CacheKey;
        var pinned = false;
        try
        {
            d.BeginStage(0, _timeProvider);
            d.EndStage(0, DeploymentStageStatus.Completed, null, _timeProvider);

            d.BeginStage(1, _timeProvider);
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Loading version {key.Version} on {key.Device}{(pin ? " (pinned)" : string.Empty)}.");
            await served.PreloadAsync(pin, cancellationToken).ConfigureAwait(false); // verifies the artifacts first
            pinned = pin;
            var used = _cache.GetStats().Find(key)?.MemoryBytes;
            d.EndStage(1, DeploymentStageStatus.Completed, used is null ? null : $"{ModelCache.FormatBytes(used.Value)} in memory", _timeProvider);
            if (used is { } bytes && d.MemoryRequest is { } requested && bytes > requested)
            {
                d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Warning, $"The model uses {ModelCache.FormatBytes(bytes)}, more than the {ModelCache.FormatBytes(requested)} requested.");
            }

            d.BeginStage(2, _timeProvider);
            var (status, note) = (DeploymentStageStatus.Skipped, "warm-up is turned off");
            if (_options.WarmUp)
            {
                var (ran, what) = await served.WarmUpAsync(cancellationToken).ConfigureAwait(false);
                (status, note) = (ran ? DeploymentStageStatus.Completed : DeploymentStageStatus.Skipped, what);
            }

            d.EndStage(2, status, note, _timeProvider);
            d.AddLog(_timeProvider.GetUtcNow(), status == DeploymentStageStatus.Completed ? LogLevel.Information : LogLevel.Warning, "Warm-up: " + note);

            d.BeginStage(3, _timeProvider);
            d.EndStage(3, DeploymentStageStatus.Completed, null, _timeProvider);
            return served;
        }
        catch
        {
            if (pinned) _cache.Unpin(key);
            await served.Queue.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task RollAsync(
        Deployment d, ServedModel current, string framework, ModelVersionInfo? version, ExecutionDevice device, BatchingOptions batching, CancellationToken cancellationToken)
    {
        var target = version ?? current.VersionInfo;
        var versionLabel = target.Version;
        bool pin;
        lock (d.Gate)
        {
            pin = d.Min > 0;
            d.UpdatingTo = versionLabel;
            d.ResetStages();
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Rolling update to version {versionLabel} on {device}; version {current.Version} keeps serving meanwhile.");
        }

        ServedModel next;
        try
        {
            next = await PrepareRuntimeAsync(d, framework, target, device, batching, pin, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            lock (d.Gate)
            {
                d.UpdatingTo = null;
                d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Error, $"Update to version {versionLabel} failed; version {current.Version} keeps serving: {ex.Message}");
            }

            Log.DeploymentFailed(_logger, d.Id, "update to version " + versionLabel + " failed: " + ex.Message, ex);
            if (ex is OperationCanceledException) throw;
            throw new DeploymentFailedException($"Updating deployment '{d.Id}' to version {versionLabel} failed; version {current.Version} keeps serving. {ex.Message}", ex);
        }

        ModelCacheKey? oldPinned;
        lock (d.Gate)
        {
            next.DefaultPriority = d.DefaultPriority;
            next.Queue.SetInstances(d.Desired);
            oldPinned = d.PinnedKey;
            d.Runtime = next;
            d.PinnedKey = pin ? next.CacheKey : null;
            d.Version = versionLabel;
            d.Device = device;
            d.Batching = batching;
            d.Framework = framework;
            d.VersionInfo = target;
            d.UpdatingTo = null;
            d.Touch(_timeProvider.GetUtcNow());
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Version {versionLabel} takes the traffic; draining version {current.Version}.");
        }

        current.Withdraw();
        await DrainAsync(d, current).ConfigureAwait(false);
        if (oldPinned is { } old) _cache.Unpin(old);
        if (current.CacheKey != next.CacheKey) _cache.Remove(current.CacheKey);
        d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, $"Version {current.Version} drained and unloaded.");
    }

    private async Task StopCoreAsync(Deployment d)
    {
        d.CancelBringUp();
        if (d.BringUpTask is { } bringUp) await bringUp.ConfigureAwait(false);

        ServedModel? runtime;
        lock (d.Gate)
        {
            if (d.State is DeploymentState.Stopped or DeploymentState.Failed)
            {
                _table.Deactivate(d);
                return;
            }

            runtime = d.Runtime;
            runtime?.Withdraw();
            d.State = DeploymentState.Stopping;
            d.Touch(_timeProvider.GetUtcNow());
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, "Stopping: draining queued and running requests.");
        }

        Log.DeploymentState(_logger, d.Id, "stopping");
        if (runtime is not null) await DrainAsync(d, runtime).ConfigureAwait(false);
        ModelCacheKey? pinned;
        lock (d.Gate)
        {
            pinned = d.PinnedKey;
            d.PinnedKey = null;
            d.Runtime = null;
            d.State = DeploymentState.Stopped;
            d.Touch(_timeProvider.GetUtcNow());
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Information, "Stopped.");
        }

        if (pinned is { } key) _cache.Unpin(key);
        _table.Deactivate(d);
        d.SetSettled();
        Log.DeploymentState(_logger, d.Id, "stopped");
    }

    private async Task DrainAsync(Deployment d, ServedModel runtime)
    {
        using var timeout = new CancellationTokenSource(_options.DrainTimeout, _timeProvider);
        try
        {
            await runtime.Queue.StopAsync(drain: true, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            d.AddLog(_timeProvider.GetUtcNow(), LogLevel.Warning, $"Requests still queued after {_options.DrainTimeout.TotalSeconds:F0} s were failed.");
            await runtime.Queue.StopAsync(drain: false).ConfigureAwait(false);
        }

        await runtime.Queue.DisposeAsync().ConfigureAwait(false);
    }
}
