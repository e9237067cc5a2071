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
internal sealed class GenerationEngine : IDisposable
{
    private readonly IServedModel _model;
    private readonly DecoderModel _decoder;
    private readonly TextGenerationOptions _options;
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

    public GenerationEngine(IServedModel model, DecoderModel decoder, TextGenerationOptions options, int contextLength, GenerationMetrics metrics, ILogger logger)
    {
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
        if (_useCache && 2L * job.Choices.Length * job.FinalLength * _bytesPerToken > _options.KvCacheBytes)
        {
            throw new InvalidInputException(
                $"The request needs {Megabytes(2L * job.Choices.Length * job.FinalLength * _bytesPerToken)} of KV cache ({job.Choices.Length} × "
                + $"{job.FinalLength} tokens), more than model '{_model.ModelId}' may use ({Megabytes(_options.KvCacheBytes)}); ask for fewer max_tokens or choices.");
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
            if (_pending.Count > 0)
            {
                var keep = new List<(GenerationJob, (int, long))>(_pending.Count);
                var dropped = false;
                while (_pending.TryDequeue(out var job, out var priority))
                {
                    if (job.Cancellation.IsCancellationRequested)
                    {
                        Cancel(job);
                        dropped = true;
                    }
                    else
                    {
                        keep.Add((job, priority));
                    }
                }

                foreach (var (job, priority) in keep) _pending.Enqueue(job, priority);
                _ = dropped;
            }
        }

        for (var i = _prefilling.Count - 1; i >= 0; i--)
        {
            if (!_prefilling[i].Cancellation.IsCancellationRequested) continue;
            Cancel(_prefilling[i]);
            _prefilling.RemoveAt(i);
        }

        foreach (var list in new[] { _active, _joining })
        {
            foreach (var sequence in list)
            {
                if (sequence.Finished || !sequence.Job.Cancellation.IsCancellationRequested) continue;
                Cancel(sequence.Job);
            }
        }

        RemoveFinished();
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
        return !_useCache || 2L * rows * longest * _bytesPerToken <= _options.KvCacheBytes;
    }

    // One chunk of one prompt (the whole prompt without a cache); at its end each choice samples its first token.
    private void PrefillChunk(GenerationJob job)
    {
        var layout = _decoder.Layout;
        var prompt = job.PromptIds;
        var start = job.Prefilled;
        var count = _useCache ? Math.Min(_options.PrefillChunkTokens, prompt.Length - start) : prompt.Length;
        var inputs = new List<(string, OrtValue)>();
        var owned = new List<OrtValue>();
        try
        {
            var ids = new long[count];
            var positions = new long[count];
            for (var i = 0; i < count; i++)
            {
                ids[i] = prompt[start + i];
                positions[i] = start + i;
            }

            var mask = new long[start + count];
            Array.Fill(mask, 1L);
            AddInputs(inputs, owned, ids, [1, count], mask, [1, start + count], positions, [1, count], useCache: start > 0);
            AddPast(inputs, owned, job.PrefillCache, rows: 1);

            var outputs = Run(inputs);
            using var logits = outputs[0];
            if (_useCache)
            {
                job.DisposePrefill();
                job.PrefillCache = outputs[1..];
            }
            else
            {
                for (var i = 1; i < outputs.Length; i++) outputs[i].Dispose();
            }

            job.Prefilled = start + count;
            if (job.Prefilled < prompt.Length) return;

            _prefilling.Remove(job);
            _metrics.Tokens.Add(prompt.Length, _modelTag, new(Diagnostics.ModelKitTelemetry.TokenTypeTag, "prompt"));
            _metrics.TimeToFirstToken.Record(System.Diagnostics.Stopwatch.GetElapsedTime(job.Arrived).TotalSeconds, _modelTag);
            foreach (var choice in job.Choices)
            {
                choice.CachedLength = prompt.Length;
                Advance(choice, logits, row: 0, position: count - 1, sequenceLength: count);
                if (!choice.Finished) _joining.Add(choice);
            }

            if (Array.TrueForAll(job.Choices, static c => c.Finished)) job.DisposePrefill();
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }
    }

    // One step for every row: each row's next token, its position among its real tokens, its mask with the new slot.
    private void DecodeStep()
    {
        var layout = _decoder.Layout;
        var rows = _active.Count;
        var slots = _slots + 1;
        var ids = new long[rows];
        var positions = new long[rows];
        var mask = new long[rows * slots];
        for (var r = 0; r < rows; r++)
        {
            var s = _active[r];
            ids[r] = s.NextToken;
            positions[r] = s.CachedLength;
            Array.Copy(_mask, r * _slots, mask, r * slots, _slots);
            mask[(r * slots) + _slots] = 1;
        }

        var inputs = new List<(string, OrtValue)>();
        var owned = new List<OrtValue>();
        OrtValue[] outputs;
        try
        {
            AddInputs(inputs, owned, ids, [rows, 1], mask, [rows, slots], positions, [rows, 1], useCache: true);
            AddPast(inputs, owned, _cache, rows);
            outputs = Run(inputs);
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }

        _metrics.StepSequences.Record(rows, _modelTag);
        using var logits = outputs[0];
        foreach (var value in _cache!) value.Dispose(); // the rows stay: their keys and values are in the present tensors
        _cache = outputs[1..];
        _mask = mask;
        _slots = slots;
        for (var r = 0; r < rows; r++)
        {
            var s = _active[r];
            s.CachedLength++;
            Advance(s, logits, r, position: 0, sequenceLength: 1);
        }
    }

    // Without a cache: every row's whole sequence, right-padded, at every step.
    private void RecomputeStep()
    {
        var layout = _decoder.Layout;
        var rows = _active.Count;
        var length = 0;
        foreach (var s in _active) length = Math.Max(length, s.Tokens.Count);
        var ids = new long[rows * length];
        var mask = new long[rows * length];
        var positions = new long[rows * length];
        for (var r = 0; r < rows; r++)
        {
            var tokens = _active[r].Tokens;
            for (var i = 0; i < length; i++)
            {
                var real = i < tokens.Count;
                ids[(r * length) + i] = real ? tokens[i] : 0;
                mask[(r * length) + i] = real ? 1 : 0;
                positions[(r * length) + i] = i;
            }
        }

        var inputs = new List<(string, OrtValue)>();
        var owned = new List<OrtValue>();
        OrtValue[] outputs;
        try
        {
            AddInputs(inputs, owned, ids, [rows, length], mask, [rows, length], positions, [rows, length], useCache: false);
            AddPast(inputs, owned, null, rows);
            outputs = Run(inputs);
        }
        finally
        {
            foreach (var value in owned) value.Dispose();
        }

        using var logits = outputs[0];
        for (var i = 1; i < outputs.Length; i++) outputs[i].Dispose();
        for (var r = 0; r < rows; r++)
        {
            var s = _active[r];
            Advance(s, logits, r, position: s.Tokens.Count - 1, sequenceLength: length);
        }
    }

    private void AddInputs(
        List<(string, OrtValue)> inputs, List<OrtValue> owned, long[] ids, long[] idsShape, long[] mask, long[] maskShape, long[] positions, long[] positionsShape, bool useCache)
    {
        var layout = _decoder.Layout;
        inputs.Add((layout.InputIds, Own(owned, Ids(layout.InputIds, ids, idsShape))));
        if (layout.AttentionMask is { } maskName) inputs.Add((maskName, Own(owned, Ids(maskName, mask, maskShape))));
        if (layout.PositionIds is { } positionName) inputs.Add((positionName, Own(owned, Ids(positionName, positions, positionsShape))));
        if (layout.UseCacheBranch is { } branch) inputs.Add((branch, Own(owned, OrtValue.CreateTensorValueFromMemory(new[] { useCache }, [1]))));
    }

    private static OrtValue Own(List<OrtValue> owned, OrtValue value)
    {
        owned.Add(value);
        return value;
    }

    // Past inputs: the given cache, or empty tensors [rows, heads, 0, head_dim] for a first pass.
    private void AddPast(List<(string, OrtValue)> inputs, List<OrtValue> owned, OrtValue[]? cache, int rows)
    {
        var layers = _decoder.Layout.Layers;
        for (var l = 0; l < layers.Count; l++)
        {
            if (cache is not null && _useCache)
            {
                inputs.Add((layers[l].PastKey, cache[2 * l]));
                inputs.Add((layers[l].PastValue, cache[(2 * l) + 1]));
            }
            else
            {
                inputs.Add((layers[l].PastKey, Own(owned, EmptyPast(rows))));
                inputs.Add((layers[l].PastValue, Own(owned, EmptyPast(rows))));
            }
        }
    }

    private OrtValue EmptyPast(int rows) =>
        OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, KvOrtType, [rows, _decoder.KvHeads, 0, _decoder.HeadDim]);

    private OrtElementType KvOrtType => _decoder.Layout.KvType == Tensors.TensorElementType.Float16 ? OrtElementType.Float16 : OrtElementType.Float;

    private OrtValue[] Run(List<(string Name, OrtValue Value)> inputs)
    {
        var names = new string[inputs.Count];
        var values = new OrtValue[inputs.Count];
        for (var i = 0; i < inputs.Count; i++) (names[i], values[i]) = inputs[i];
        var results = _session!.Run(_runOptions, names, values, _outputNames);
        var outputs = new OrtValue[results.Count];
        for (var i = 0; i < outputs.Length; i++) outputs[i] = results[i];
        return outputs; // the caller owns each value; the collection holds nothing else
    }

    private OrtValue Ids(string input, long[] values, long[] shape)
    {
        if (_decoder.Int32Inputs.Contains(input))
        {
            var narrow = new int[values.Length];
            for (var i = 0; i < values.Length; i++) narrow[i] = (int)values[i];
            return OrtValue.CreateTensorValueFromMemory(narrow, shape);
        }

        return OrtValue.CreateTensorValueFromMemory(values, shape);
    }

    // Joins waiting rows and drops finished ones: every row's real slots are copied, in order, into compact tensors.
    private void Rebuild()
    {
        var rows = new List<GenerationSequence>(_active.Count + _joining.Count);
        foreach (var s in _active) if (!s.Finished) rows.Add(s);
        foreach (var s in _joining) if (!s.Finished) rows.Add(s);
        var consumed = new HashSet<GenerationJob>();
        foreach (var s in _joining) consumed.Add(s.Job);
        _joining.Clear();

        if (rows.Count == 0)
        {
            DisposeCache();
            _active.Clear();
            foreach (var job in consumed) job.DisposePrefill();
            _dirty = false;
            return;
        }

        var slots = 0;
        foreach (var s in rows) slots = Math.Max(slots, s.CachedLength);
        var heads = _decoder.KvHeads;
        var oldRuns = new List<(int Start, int Length)>[rows.Count];
        for (var r = 0; r < rows.Count; r++)
        {
            if (rows[r].Row >= 0) oldRuns[r] = Runs(rows[r].Row);
        }

        var layers = _decoder.Layout.Layers.Count;
        var cache = new OrtValue[2 * layers];
        try
        {
            for (var t = 0; t < cache.Length; t++)
            {
                cache[t] = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, KvOrtType, [rows.Count, heads, slots, _decoder.HeadDim]);
                var destination = cache[t].GetTensorMutableRawData();
                destination.Clear(); // masked slots must hold numbers: garbage could be NaN, and NaN × 0 is still NaN
                for (var r = 0; r < rows.Count; r++)
                {
                    var s = rows[r];
                    for (var h = 0; h < heads; h++)
                    {
                        var target = destination.Slice((int)(((((long)r * heads) + h) * slots) * _slotBytes));
                        if (s.Row >= 0)
                        {
                            var source = _cache![t].GetTensorDataAsSpan<byte>();
                            var from = ((((long)s.Row * heads) + h) * _slots) * _slotBytes;
                            var written = 0;
                            foreach (var (start, length) in oldRuns[r])
                            {
                                source.Slice((int)(from + ((long)start * _slotBytes)), length * _slotBytes).CopyTo(target[(written * _slotBytes)..]);
                                written += length;
                            }
                        }
                        else
                        {
                            var source = s.Job.PrefillCache![t].GetTensorDataAsSpan<byte>();
                            var length = s.CachedLength;
                            source.Slice(h * length * _slotBytes, length * _slotBytes).CopyTo(target);
                        }
                    }
                }
            }
        }
        catch
        {
            foreach (var v in cache) v?.Dispose();
            throw;
        }

        DisposeCache();
        foreach (var job in consumed) job.DisposePrefill();
        _cache = cache;
        _slots = slots;
        _mask = new long[rows.Count * slots];
        for (var r = 0; r < rows.Count; r++)
        {
            Array.Fill(_mask, 1L, r * slots, rows[r].CachedLength);
            rows[r].Row = r;
        }

        _active.Clear();
        _active.AddRange(rows);
        _dirty = false;
    }

    // The runs of real (unmasked) slots of a row of the current batch.
    private List<(int Start, int Length)> Runs(int row)
    {
        var runs = new List<(int, int)>(2);
        var offset = row * _slots;
        var i = 0;
        while (i < _slots)
        {
            if (_mask[offset + i] == 0)
            {
                i++;
                continue;
            }

            var start = i;
            while (i < _slots && _mask[offset + i] != 0) i++;
            runs.Add((start, i - start));
        }

        return runs;
    }

    private void DisposeCache()
    {
        if (_cache is null) return;
        foreach (var v in _cache) v.Dispose();
        _cache = null;
        _slots = 0;
        _mask = [];
        foreach (var s in _active) s.Row = -1;
    }

    // Samples a row's next token from its logits, updates its text, and ends it on an end token, a stop sequence or a limit.
    private void Advance(GenerationSequence s, OrtValue logits, int row, int position, int sequenceLength)
    {
        var vocabulary = (int)logits.GetTensorTypeAndShape().Shape[2];
        if (_logits.Length != vocabulary) _logits = new float[vocabulary];
        var offset = (((long)row * sequenceLength) + position) * vocabulary;
        if (_decoder.Layout.LogitsType == Tensors.TensorElementType.Float16)
        {
            var halves = MemoryMarshal.Cast<byte, Half>(logits.GetTensorDataAsSpan<byte>()).Slice((int)offset, vocabulary);
            for (var i = 0; i < vocabulary; i++) _logits[i] = (float)halves[i];
        }
        else
        {
            logits.GetTensorDataAsSpan<float>().Slice((int)offset, vocabulary).CopyTo(_logits);
        }

        var job = s.Job;
        TokenLogProb? logProb = null;
        int token;
        if (job.Settings.LogProbs)
        {
            var raw = _logits.AsSpan();
            var scratch = System.Buffers.ArrayPool<float>.Shared.Rent(vocabulary);
            try
            {
                raw.CopyTo(scratch);
                token = s.Sampler.Sample(scratch.AsSpan(0, vocabulary));
                logProb = _decoder.LogProb(raw, token, job.Settings.TopLogProbs);
            }
            finally
            {
                System.Buffers.ArrayPool<float>.Shared.Return(scratch);
            }
        }
        else
        {
            token = s.Sampler.Sample(_logits);
        }

        s.Sampler.Accept(token);
        Interlocked.Increment(ref _generated);
        _metrics.Tokens.Add(1, _modelTag, new(Diagnostics.ModelKitTelemetry.TokenTypeTag, "completion"));
        s.Generated++;
        job.CompletionTokens++;
        s.Tokens.Add(token);
        s.NextToken = token;

        string text;
        string? finish = null;
        IReadOnlyList<int> tokenIds = [token];
        if (_decoder.IsEndToken(token))
        {
            tokenIds = [];
            logProb = null;
            var (rest, _) = s.StopMatcher.Push(s.Detokenizer.Flush());
            text = rest + s.StopMatcher.Flush();
            finish = TextGenerationFinishReasons.Stop;
        }
        else
        {
            var (emit, stopped) = s.StopMatcher.Push(s.Detokenizer.Push(token));
            text = emit;
            if (stopped)
            {
                finish = TextGenerationFinishReasons.Stop;
                if (emit.Length == 0)
                {
                    // The token only completed the stop sequence: none of its text is in the answer, so neither is it.
                    tokenIds = [];
                    logProb = null;
                }
            }
            else if (s.Generated >= job.MaxTokens || s.Tokens.Count >= ContextLength)
            {
                var (rest, stoppedAtEnd) = s.StopMatcher.Push(s.Detokenizer.Flush());
                text += rest + (stoppedAtEnd ? string.Empty : s.StopMatcher.Flush());
                finish = stoppedAtEnd ? TextGenerationFinishReasons.Stop : TextGenerationFinishReasons.Length;
            }
        }

        job.Emit(new TextGenerationUpdate
        {
            ModelId = job.ModelId,
            Version = job.Version,
            ChoiceIndex = s.Index,
            Text = text,
            TokenIds = tokenIds,
            LogProbs = logProb is null ? null : [logProb],
            FinishReason = finish,
        });

        if (finish is null) return;
        s.Finished = true;
        _dirty = true;
        if (--job.Unfinished == 0) job.Complete();
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
