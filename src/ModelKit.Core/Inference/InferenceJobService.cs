using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ModelKit.Inference;

/// <summary>Runs jobs on <see cref="IInferenceService"/> with a concurrency limit and bounded retention.</summary>
public sealed class InferenceJobService : IInferenceJobService, IDisposable
{
    private readonly ConcurrentDictionary<string, Job> _jobs = new(StringComparer.Ordinal);
    private readonly Lock _admission = new();
    private readonly IInferenceService _inference;
    private readonly InferenceJobOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>Creates the service.</summary>
    public InferenceJobService(IInferenceService inference, IOptions<InferenceJobOptions> options, TimeProvider? timeProvider = null, ILogger<InferenceJobService>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _inference = inference ?? throw new ArgumentNullException(nameof(inference));
        _options = options.Value;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _slots = new SemaphoreSlim(_options.MaxConcurrentJobs, _options.MaxConcurrentJobs);
    }

    /// <inheritdoc />
    public async Task<InferenceJobInfo> SubmitAsync(InferenceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ObjectDisposedException.ThrowIf(_shutdown.IsCancellationRequested, this);
        await _inference.ValidateAsync(request, cancellationToken).ConfigureAwait(false);
        var job = new Job("job-" + Guid.NewGuid().ToString("N"), request, _timeProvider.GetUtcNow(), _shutdown.Token);
        lock (_admission)
        {
            Purge(makeRoom: true);
            if (_jobs.Count >= _options.MaxJobs)
            {
                job.Dispose();
                throw new QueueFullException($"{_options.MaxJobs} jobs are unfinished; retry later.", TimeSpan.FromSeconds(1));
            }

            _jobs[job.Id] = job;
        }

        _ = Task.Run(() => RunAsync(job), CancellationToken.None);
        return job.Snapshot(_options.Retention);
    }

    /// <inheritdoc />
    public InferenceJobInfo GetJob(string jobId) => Find(jobId).Snapshot(_options.Retention);

    /// <inheritdoc />
    public IReadOnlyList<InferenceJobInfo> ListJobs(InferenceJobStatus? status = null, int limit = 100)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        lock (_admission) Purge(makeRoom: false);
        return [.. _jobs.Values
            .Select(j => j.Snapshot(_options.Retention))
            .Where(j => status is null || j.Status == status)
            .OrderByDescending(j => j.CreatedAt)
            .ThenBy(j => j.JobId, StringComparer.Ordinal)
            .Take(limit)];
    }

    /// <inheritdoc />
    public InferenceJobInfo Cancel(string jobId)
    {
        var job = Find(jobId);
        job.RequestCancel();
        return job.Snapshot(_options.Retention);
    }

    /// <inheritdoc />
    public async Task<InferenceJobInfo> WaitAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var job = Find(jobId);
        await job.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        return job.Snapshot(_options.Retention);
    }

    /// <summary>Cancels every unfinished job.</summary>
    public void Dispose()
    {
        if (_shutdown.IsCancellationRequested) return;
        _shutdown.Cancel();
        _shutdown.Dispose();
    }

    private Job Find(string jobId)
    {
        if (jobId is not null && _jobs.TryGetValue(jobId, out var job))
        {
            if (!job.IsExpired(_timeProvider.GetUtcNow(), _options.Retention)) return job;
            Forget(job);
        }

        throw new JobNotFoundException(
            $"Job '{ClientText.Quote(jobId)}' does not exist or has expired (finished jobs are kept for {_options.Retention.TotalMinutes:0.#} minutes).");
    }

    // Under _admission: forgets expired jobs, then (to make room for one more) the oldest finished ones while at the limit.
    private void Purge(bool makeRoom)
    {
        var now = _timeProvider.GetUtcNow();
        List<Job>? finished = null;
        foreach (var job in _jobs.Values)
        {
            if (job.IsExpired(now, _options.Retention)) Forget(job);
            else if (job.CompletedAt is not null) (finished ??= []).Add(job);
        }

        if (!makeRoom || _jobs.Count < _options.MaxJobs || finished is null) return;
        finished.Sort(static (a, b) => Nullable.Compare(a.CompletedAt, b.CompletedAt));
        foreach (var job in finished)
        {
            if (_jobs.Count < _options.MaxJobs) break;
            Forget(job);
        }
    }

    private void Forget(Job job)
    {
        if (_jobs.TryRemove(new KeyValuePair<string, Job>(job.Id, job))) job.Dispose();
    }

    private async Task RunAsync(Job job)
    {
        var token = job.Cancellation.Token;
        var acquired = false;
        try
        {
            await _slots.WaitAsync(token).ConfigureAwait(false);
            acquired = true;
            job.Start(_timeProvider.GetUtcNow());
            var request = job.Request.Timeout is null ? job.Request with { Timeout = _options.DefaultTimeout } : job.Request;
            var result = await _inference.InferAsync(request, token).ConfigureAwait(false);
            job.Finish(_timeProvider.GetUtcNow(), InferenceJobStatus.Succeeded, result, null);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            job.Finish(_timeProvider.GetUtcNow(), InferenceJobStatus.Cancelled, null, null);
        }
        catch (Exception ex)
        {
            var error = ex as ModelKitException ?? new InferenceFailedException(ex.Message, ex);
            Log.JobFailed(_logger, job.Id, job.Request.ModelId, error.ErrorCode, ex);
            job.Finish(_timeProvider.GetUtcNow(), InferenceJobStatus.Failed, null, error);
        }
        finally
        {
            if (acquired) _slots.Release();
        }
    }

    private sealed class Job(string id, InferenceRequest request, DateTimeOffset createdAt, CancellationToken shutdown) : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private InferenceJobStatus _status;
        private DateTimeOffset? _startedAt;
        private InferenceResult? _result;
        private ModelKitException? _error;

        public string Id { get; } = id;
        public InferenceRequest Request { get; } = request;
        public CancellationTokenSource Cancellation { get; } = CancellationTokenSource.CreateLinkedTokenSource(shutdown);
        public DateTimeOffset? CompletedAt { get; private set; }
        public Task Completion => _completion.Task;

        public bool IsExpired(DateTimeOffset now, TimeSpan retention)
        {
            lock (_gate) return CompletedAt is { } done && now - done >= retention;
        }

        public void Start(DateTimeOffset now)
        {
            lock (_gate)
            {
                _status = InferenceJobStatus.Running;
                _startedAt = now;
            }
        }

        public void RequestCancel()
        {
            lock (_gate)
            {
                if (CompletedAt is not null) return;
            }

            try
            {
                Cancellation.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // Finished and forgotten meanwhile: nothing left to cancel.
            }
        }

        public void Finish(DateTimeOffset now, InferenceJobStatus status, InferenceResult? result, ModelKitException? error)
        {
            lock (_gate)
            {
                _status = status;
                _result = result;
                _error = error;
                CompletedAt = now;
            }

            _completion.TrySetResult();
        }

        public InferenceJobInfo Snapshot(TimeSpan retention)
        {
            lock (_gate)
            {
                return new InferenceJobInfo
                {
                    JobId = Id,
                    ModelId = Request.ModelId,
                    Version = Request.Version,
                    Status = _status,
                    CreatedAt = createdAt,
                    StartedAt = _startedAt,
                    CompletedAt = CompletedAt,
                    ExpiresAt = CompletedAt + retention,
                    Result = _result,
                    ErrorCode = _error?.ErrorCode,
                    ErrorMessage = _error?.Message,
                };
            }
        }

        public void Dispose() => Cancellation.Dispose();
    }
}
