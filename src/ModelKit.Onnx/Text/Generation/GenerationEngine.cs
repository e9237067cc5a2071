using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Caching;
using ModelKit.Serving;
using ModelKit.Text;
using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace ModelKit.Onnx.Text.Generation;

/// <summary>
/// Continuous batching of the generations of one served decoder. One thread runs the loop: admit waiting requests
/// while the KV-cache budget and the batch size allow, prefill one prompt chunk, then run one decoding step for every
/// running sequence at once and sample each row. Requests join at step boundaries (after their prefill) and leave when
/// they finish or their caller goes; the batch is rebuilt then.
/// </summary>
/// <remarks>
/// <para>The batch's cache is the model's own <c>present</c> tensors [rows, heads, slots, head_dim], fed back as the next
/// step's <c>past_key_values</c> without copying while the batch stays the same. A row's real tokens need not be
/// contiguous: when rows of different lengths share the batch, the shorter ones have masked slots
/// (<c>attention_mask</c> 0) and their <c>position_ids</c> count real tokens only, so each row computes exactly what it
/// would alone. A rebuild (a row joins or leaves) copies each row's real slots into fresh, compact tensors.</para>
/// <para>A model without <c>past_key_values</c> inputs (or <see cref="TextGenerationOptions.UseKvCache"/> off) runs the
/// whole sequence at every step instead.</para>
/// </remarks>
internal sealed partial class GenerationEngine : IDisposable
{
    private readonly IServedModel _model;
    private readonly DecoderModel _decoder;
    private readonly TextGenerationOptions _options;
    private readonly long _kvCacheBytes; // the options', or the deployment's own budget
    private readonly ILogger _logger;
    private readonly GenerationMetrics _metrics;
    private readonly KeyValuePair<string, object?> _modelTag;
    private readonly bool _useCache;
    private readonly long _bytesPerToken;
    private readonly int _slotBytes;
    private readonly object _gate = new();
    private readonly PriorityQueue<GenerationJob, (int Priority, long Sequence)> _pending = new();
    private readonly SemaphoreSlim _signal = new(0);
    private readonly Thread _thread;
    private readonly RunOptions _runOptions = new();
    private readonly string[] _outputNames;
    private long _arrivals;
    private volatile bool _disposed;

    // Engine thread only.
    private readonly List<GenerationJob> _prefilling = [];
    private readonly List<GenerationSequence> _active = [];
    private readonly List<GenerationSequence> _joining = [];
    private bool _dirty;
    private ModelLease? _lease;
    private InferenceSession? _session;
    private OrtValue[]? _cache; // per layer: key, value — [rows, heads, slots, head_dim]
    private long[] _mask = [];   // [rows, slots]
    private int _slots;
    private float[] _logits = [];
    private int _reportedSequences;

    public GenerationEngine(
        IServedModel model, DecoderModel decoder, TextGenerationOptions options, int contextLength, long kvCacheBytes, GenerationMetrics metrics, ILogger logger)
    {
        _kvCacheBytes = kvCacheBytes;
        ContextLength = contextLength;
        _model = model;
        _metrics = metrics;
        _modelTag = new KeyValuePair<string, object?>(Diagnostics.ModelKitTelemetry.ModelTag, model.ModelId);
        _decoder = decoder;
        _options = options;
        _logger = logger;
        _useCache = decoder.Layout.HasKvCache && options.UseKvCache;
        var elementSize = decoder.Layout.KvType == Tensors.TensorElementType.Float16 ? 2 : 4;
        _slotBytes = decoder.HeadDim * elementSize;
        _bytesPerToken = decoder.Layout.HasKvCache ? 2L * decoder.Layout.Layers.Count * decoder.KvHeads * _slotBytes : 0;
        var outputs = new List<string> { decoder.Layout.Logits };
        if (decoder.Layout.HasKvCache)
        {
            foreach (var layer in decoder.Layout.Layers)
            {
                outputs.Add(layer.PresentKey);
                outputs.Add(layer.PresentValue);
            }
        }

        _outputNames = [.. outputs];
        _thread = new Thread(Loop) { IsBackground = true, Name = $"ModelKit generation {model.ModelId}:{model.Version}" };
        _thread.Start();
    }

    public IServedModel Model => _model;

    /// <summary>The most tokens a sequence may hold here: the model's context, or the deployment's lower limit.</summary>
    public int ContextLength { get; }

    /// <summary>The KV-cache bytes one token of one sequence takes (0 without a cache).</summary>
    public long BytesPerToken => _useCache ? _bytesPerToken : 0;

    /// <summary>Whether the engine has nothing to do (for pruning withdrawn engines).</summary>
    public bool IsIdle
    {
        get
        {
            lock (_gate) return _pending.Count == 0 && Volatile.Read(ref _busy) == 0;
        }
    }

    private int _busy;
    private long _generated;

    /// <summary>The tokens this engine has sampled, all requests together.</summary>
    public long GeneratedTokens => Interlocked.Read(ref _generated);

    /// <summary>Queues a job; its updates come through <see cref="GenerationJob.Updates"/>.</summary>
    public void Submit(GenerationJob job)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_useCache && 2L * job.Choices.Length * job.FinalLength * _bytesPerToken > _kvCacheBytes)
        {
            throw new InvalidInputException(
                $"The request needs {Megabytes(2L * job.Choices.Length * job.FinalLength * _bytesPerToken)} of KV cache ({job.Choices.Length} × "
                + $"{job.FinalLength} tokens), more than model '{_model.ModelId}' may use ({Megabytes(_kvCacheBytes)}); ask for fewer max_tokens or choices.");
        }

        if (job.Choices.Length > _options.MaxBatchSequences)
        {
            throw new InvalidInputException($"'n' is {job.Choices.Length}; model '{_model.ModelId}' runs at most {_options.MaxBatchSequences} sequences at once.");
        }

        lock (_gate)
        {
            if (_pending.Count >= _options.MaxQueuedRequests)
            {
                throw new QueueFullException(
                    $"Model '{_model.ModelId}' has {_pending.Count} generations waiting for a place; try again shortly.", TimeSpan.FromSeconds(1));
            }

            job.Sequence = ++_arrivals;
            job.Arrived = System.Diagnostics.Stopwatch.GetTimestamp();
            _pending.Enqueue(job, ((int)job.Priority, job.Sequence));
        }

        _signal.Release();
    }

    private static string Megabytes(long bytes) => $"{bytes / (1024.0 * 1024.0):F1} MiB";

    private void Loop()
    {
        while (!_disposed)
        {
            bool work;
            lock (_gate)
            {
                work = _pending.Count > 0 || _prefilling.Count > 0 || _active.Count > 0 || _joining.Count > 0;
                Volatile.Write(ref _busy, work ? 1 : 0);
            }

            if (!work)
            {
                ReleaseSession();
                _signal.Wait();
                continue;
            }

            try
            {
                if (!EnsureSession()) continue;
                DropCancelled();
                Admit();
                if (_prefilling.Count > 0) PrefillChunk(_prefilling[0]);
                if (_active.Count > 0 || _joining.Count > 0)
                {
                    if (_useCache)
                    {
                        if (_dirty || _joining.Count > 0) Rebuild();
                        if (_active.Count > 0) DecodeStep();
                    }
                    else
                    {
                        _active.AddRange(_joining);
                        _joining.Clear();
                        if (_active.Count > 0) RecomputeStep();
                    }

                    RemoveFinished();
                }

                ReportSequences();
            }
            catch (Exception ex) when (!_disposed)
            {
                var error = ex is OnnxRuntimeException ort ? OnnxModelSession.RunFailure(ort) : ex;
                if (error is not ModelKitException) Log.GenerationStepFailed(_logger, _model.ModelId, ex);
                FailRunning(error is ModelKitException ? error : new InferenceFailedException("The generation step failed; the server log has the details.", ex));
            }
        }

        FailEverything(new ModelUnavailableException($"The generation engine of model '{_model.ModelId}' stopped (the server is shutting down)."));
        ReleaseSession();
        ReportSequences();
    }

    private void ReportSequences()
    {
        var now = _active.Count + _joining.Count;
        if (now == _reportedSequences) return;
        _metrics.Sequences.Add(now - _reportedSequences, _modelTag);
        _reportedSequences = now;
    }

    private bool EnsureSession()
    {
        if (_session is not null) return true;
        try
        {
            var lease = _model.LeaseAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (lease.Session is not OnnxModelSession onnx)
            {
                lease.Dispose();
                throw new UnsupportedTaskException($"Model '{_model.ModelId}' is not served by the ONNX backend; generation needs it.");
            }

            _lease = lease;
            _session = onnx.InnerSession;
            return true;
        }
        catch (Exception ex)
        {
            // The model cannot be loaded now: every waiting request hears why.
            FailEverything(ex);
            return false;
        }
    }

    private void ReleaseSession()
    {
        DisposeCache();
        _session = null;
        _lease?.Dispose();
        _lease = null;
    }

    // The caller went away or its time ran out: the sequence leaves at this step boundary.
    private void DropCancelled()
    {
        lock (_gate)
        {
            // Rebuilt only when a waiting request was cancelled: this runs at every step.
            var any = false;
            foreach (var (job, _) in _pending.UnorderedItems) any |= job.Cancellation.IsCancellationRequested;
            if (any)
            {
                var keep = new List<(GenerationJob, (int, long))>(_pending.Count);
                while (_pending.TryDequeue(out var job, out var priority))
                {
                    if (job.Cancellation.IsCancellationRequested) Cancel(job);
                    else keep.Add((job, priority));
                }

                foreach (var (job, priority) in keep) _pending.Enqueue(job, priority);
            }
        }

        for (var i = _prefilling.Count - 1; i >= 0; i--)
        {
            if (!_prefilling[i].Cancellation.IsCancellationRequested) continue;
            Cancel(_prefilling[i]);
            _prefilling.RemoveAt(i);
        }

        CancelLeft(_active);
        CancelLeft(_joining);

        RemoveFinished();
    }

    private void CancelLeft(List<GenerationSequence> sequences)
    {
        foreach (var sequence in sequences)
        {
            if (!sequence.Finished && sequence.Job.Cancellation.IsCancellationRequested) Cancel(sequence.Job);
        }
    }

    private void Cancel(GenerationJob job)
    {
        foreach (var choice in job.Choices) choice.Finished = true;
        job.Fail(job.TimedOut()
            ? new InferenceTimeoutException($"The generation with model '{job.ModelId}' did not finish within its timeout.")
            : new OperationCanceledException("The caller cancelled the generation.", job.Cancellation));
        _dirty = true;
    }

    private void RemoveFinished()
    {
        if (_active.RemoveAll(static s => s.Finished) > 0) _dirty = true;
        _joining.RemoveAll(static s => s.Finished);
    }

    // Admits waiting requests in priority order while the batch has places and the KV-cache budget allows.
    private void Admit()
    {
        lock (_gate)
        {
            while (_pending.TryPeek(out var job, out _))
            {
                if (!Fits(job)) break;
                _pending.Dequeue();
                _prefilling.Add(job);
            }
        }
    }

    private bool Fits(GenerationJob job)
    {
        var rows = _active.Count + _joining.Count + job.Choices.Length;
        var longest = job.FinalLength;
        foreach (var s in _active) longest = Math.Max(longest, s.Job.FinalLength);
        foreach (var s in _joining) longest = Math.Max(longest, s.Job.FinalLength);
        foreach (var j in _prefilling)
        {
            rows += j.Choices.Length;
            longest = Math.Max(longest, j.FinalLength);
        }

        if (rows > _options.MaxBatchSequences) return false;
        return !_useCache || 2L * rows * longest * _bytesPerToken <= _kvCacheBytes;
    }

    private void FailRunning(Exception error)
    {
        foreach (var job in _prefilling) job.Fail(error);
        _prefilling.Clear();
        foreach (var s in _active) s.Job.Fail(error);
        foreach (var s in _joining) s.Job.Fail(error);
        foreach (var s in _active) s.Finished = true;
        _active.Clear();
        _joining.Clear();
        DisposeCache();
        _dirty = false;
    }

    private void FailEverything(Exception error)
    {
        FailRunning(error);
        lock (_gate)
        {
            while (_pending.TryDequeue(out var job, out _)) job.Fail(error);
        }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _signal.Release();
        if (Thread.CurrentThread != _thread) _thread.Join();
        _runOptions.Dispose();
        _signal.Dispose();
    }
}
