using System.Buffers;
using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Backends;
using ModelKit.Tensors;
using OrtElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace ModelKit.Onnx;

/// <summary>
/// One ONNX Runtime session. A batch of one runs on the caller's pinned memory without copying; larger
/// batches are stacked into one native tensor per input, run once, and the outputs are split back by rows.
/// </summary>
internal sealed partial class OnnxModelSession : IModelSession
{
    private readonly InferenceSession _session;
    private readonly SessionOptions _sessionOptions;
    private readonly RunOptions _runOptions = new();
    private readonly System.Collections.Concurrent.ConcurrentBag<RunOptions> _runOptionsPool = [];
    private int _pooledRunOptions;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly OrtElementType[] _inputTypes;
    private bool _disposed;

    /// <summary>The intra-op threads the session was created with; null for ONNX Runtime's default or the shared pool.</summary>
    public int? IntraOpThreads { get; init; }

    public OnnxModelSession(InferenceSession session, SessionOptions sessionOptions, ExecutionDevice device, long memoryBytes, MemoryMeasurement measurement)
    {
        _session = session;
        _sessionOptions = sessionOptions;
        Device = device;
        MemoryBytes = memoryBytes;
        MemoryMeasurement = measurement;
        _inputNames = [.. session.InputNames];
        _outputNames = [.. session.OutputNames];
        var inputs = new TensorSpec[_inputNames.Length];
        _inputTypes = new OrtElementType[_inputNames.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            var meta = session.InputMetadata[_inputNames[i]];
            inputs[i] = Describe(_inputNames[i], meta);
            _inputTypes[i] = meta.ElementDataType;
        }

        var outputs = new TensorSpec[_outputNames.Length];
        for (var i = 0; i < outputs.Length; i++) outputs[i] = Describe(_outputNames[i], session.OutputMetadata[_outputNames[i]]);
        Signature = new ModelSignature(inputs, outputs);
    }

    public ModelSignature Signature { get; }

    /// <summary>The ONNX Runtime session, for callers that run it directly (the generation engine).</summary>
    internal InferenceSession InnerSession
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _session;
        }
    }

    public ExecutionDevice Device { get; }

    public long MemoryBytes { get; }

    public MemoryMeasurement MemoryMeasurement { get; }

    public ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>> RunAsync(
        IReadOnlyList<IReadOnlyDictionary<string, Tensor>> requests, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Count == 0) return new ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>>([]);
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>>(cancellationToken);
        try
        {
            return new ValueTask<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>>(Run(requests, cancellationToken));
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<IReadOnlyList<IReadOnlyDictionary<string, Tensor>>>(ex);
        }
    }

    // ONNX Runtime's run is synchronous: it runs on the caller's thread. A run that can be cancelled gets its own
    // RunOptions (pooled), whose Terminate flag the token sets; ORT checks it between operators.
    private TensorDictionary[] Run(IReadOnlyList<IReadOnlyDictionary<string, Tensor>> requests, CancellationToken cancellationToken)
    {
        var values = new OrtValue[_inputNames.Length];
        var pins = requests.Count == 1 ? new MemoryHandle[_inputNames.Length] : null;
        var rows = new long[requests.Count];
        RunOptions? own = null;
        var large = false;
        CancellationTokenRegistration registration = default;
        try
        {
            for (var i = 0; i < _inputNames.Length; i++)
            {
                values[i] = requests.Count == 1
                    ? Wrap(requests[0][_inputNames[i]], _inputTypes[i], out pins![i])
                    : Stack(requests, _inputNames[i], _inputTypes[i], rows);
            }

            if (requests.Count == 1) rows[0] = values.Length > 0 ? requests[0][_inputNames[0]].BatchSize : 1;
            large = IsLarge(requests);
            if (large)
            {
                // A large run grows ONNX Runtime's CPU arena by its activations; shrinking it afterwards gives that memory
                // back instead of keeping the largest run's high-water mark for the process's life.
                own = new RunOptions();
                own.AddRunConfigEntry("memory.enable_memory_arena_shrinkage", "cpu:0");
            }
            else if (cancellationToken.CanBeCanceled)
            {
                own = RentRunOptions();
            }

            if (own is not null && cancellationToken.CanBeCanceled)
            {
                registration = cancellationToken.UnsafeRegister(static state => ((RunOptions)state!).Terminate = true, own);
            }

            try
            {
                using var results = _session.Run(own ?? _runOptions, _inputNames, values, _outputNames);
                return Split(results, rows);
            }
            catch (OnnxRuntimeException) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The run was terminated: nobody waits for its result any more.", cancellationToken);
            }
            catch (OnnxRuntimeException ex)
            {
                throw RunFailure(ex);
            }
        }
        finally
        {
            registration.Dispose(); // waits for a running callback, so Terminate is not set after the options go back
            if (own is not null && large) own.Dispose();
            else if (own is not null) ReturnRunOptions(own);
            foreach (var v in values) v?.Dispose();
            if (pins is not null) foreach (var p in pins) p.Dispose();
        }
    }

    // A run fails on inputs that passed the signature check when their values or the relations between their shapes do
    // not suit the graph (an index beyond an embedding table, a sequence longer than the position table, inputs whose
    // lengths differ): ONNX Runtime says InvalidArgument, or fails to broadcast. That is the request's fault, so
    // INVALID_INPUT; anything else is INFERENCE_FAILED. Either way ORT's text loses its native source paths and
    // function signatures, which say nothing to a client.
    internal static ModelKitException RunFailure(OnnxRuntimeException ex)
    {
        var message = ex.Message;
        var status = message.IndexOf("Status Message:", StringComparison.Ordinal);
        var node = Regex.Match(message, "running (\\w+) node\\. Name:'([^']*)'");
        var detail = status >= 0 ? message[(status + "Status Message:".Length)..] : message;
        detail = NativeNoise().Replace(detail, " ").Trim();
        if (detail.Length > 300) detail = detail[..300] + "…";
        var where = node.Success ? $" at its {node.Groups[1].Value} node '{node.Groups[2].Value}'" : string.Empty;
        var byInput = message.Contains("[ErrorCode:InvalidArgument]", StringComparison.Ordinal) || detail.Contains("broadcast", StringComparison.OrdinalIgnoreCase);
        return byInput
            ? new InvalidInputException($"The model cannot run on these inputs{where}: {detail}")
            : new InferenceFailedException($"The model failed to run{where}: {detail}", ex);
    }

    // "/onnxruntime_src/…/file.h:583", "void onnxruntime::BroadcastIterator::Append(ptrdiff_t, ptrdiff_t)" and the like.
    [GeneratedRegex(@"(\S*/\S+:\d+)|([\w:<>]+::\w+\([^)]*\))|(\s+)")]
    private static partial Regex NativeNoise();

    // Inputs of 4 Mi elements or more (16 MiB of FP32): the runs after which the arena is shrunk.
    private bool IsLarge(IReadOnlyList<IReadOnlyDictionary<string, Tensor>> requests)
    {
        long elements = 0;
        for (var r = 0; r < requests.Count; r++)
        {
            foreach (var name in _inputNames) elements += requests[r][name].Length; // the model's inputs, indexed: no enumerators
        }

        return elements >= 4L << 20;
    }

    private RunOptions RentRunOptions()
    {
        if (!_runOptionsPool.TryTake(out var options)) return new RunOptions();
        Interlocked.Decrement(ref _pooledRunOptions);
        return options;
    }

    private void ReturnRunOptions(RunOptions options)
    {
        if (options.Terminate) options.Terminate = false;
        if (_disposed || Interlocked.Increment(ref _pooledRunOptions) > 16)
        {
            if (!_disposed) Interlocked.Decrement(ref _pooledRunOptions);
            options.Dispose();
            return;
        }

        _runOptionsPool.Add(options);
    }

    private TensorDictionary[] Split(IReadOnlyList<OrtValue> results, long[] rows)
    {
        var values = new Tensor[rows.Length][];
        for (var r = 0; r < rows.Length; r++) values[r] = new Tensor[_outputNames.Length];
        long totalRows = 0;
        foreach (var n in rows) totalRows += n;
        for (var o = 0; o < _outputNames.Length; o++)
        {
            var whole = ToTensor(results[o]);
            if (rows.Length == 1)
            {
                values[0][o] = whole;
                continue;
            }

            if (whole.Rank == 0 || whole.Shape[0] != totalRows)
            {
                throw new InferenceFailedException(
                    $"Output '{_outputNames[o]}' has shape {Tensor.FormatShape(whole.Shape)}, which cannot be split into the batch's {totalRows} rows.");
            }

            // Requests of the same row count share one shape array.
            long[]? lastShape = null;
            long start = 0;
            for (var r = 0; r < rows.Length; r++)
            {
                if (lastShape is null || lastShape[0] != rows[r])
                {
                    lastShape = whole.Shape.ToArray();
                    lastShape[0] = rows[r];
                }

                values[r][o] = whole.SliceRows(start, rows[r], lastShape);
                start += rows[r];
            }
        }

        var perRequest = new TensorDictionary[rows.Length];
        for (var r = 0; r < rows.Length; r++) perRequest[r] = new TensorDictionary(_outputNames, values[r]);
        return perRequest;
    }

    // Batch of one: the native tensor points at the caller's pinned memory.
    private static OrtValue Wrap(Tensor tensor, OrtElementType type, out MemoryHandle pin)
    {
        var shape = tensor.Shape.ToArray();
        if (type == OrtElementType.String)
        {
            pin = default;
            return CreateStrings(tensor, shape);
        }

        pin = tensor.ElementType switch
        {
            TensorElementType.Float32 => tensor.AsMemory<float>().Pin(),
            TensorElementType.Float16 => tensor.AsMemory<Half>().Pin(),
            TensorElementType.Float64 => tensor.AsMemory<double>().Pin(),
            TensorElementType.Int64 => tensor.AsMemory<long>().Pin(),
            TensorElementType.Int32 => tensor.AsMemory<int>().Pin(),
            TensorElementType.Int8 => tensor.AsMemory<sbyte>().Pin(),
            TensorElementType.UInt8 => tensor.AsMemory<byte>().Pin(),
            TensorElementType.Bool => tensor.AsMemory<bool>().Pin(),
            _ => throw new InvalidInputException($"Element type {tensor.ElementType.GetName()} is not supported by the ONNX backend."),
        };
        unsafe
        {
            return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, shape, (nint)pin.Pointer, (long)tensor.Length * tensor.ElementType.GetElementSize());
        }
    }

    // Larger batches: one native tensor holding every request's rows in order.
    private static OrtValue Stack(IReadOnlyList<IReadOnlyDictionary<string, Tensor>> requests, string name, OrtElementType type, long[] rows)
    {
        var first = requests[0][name];
        var shape = first.Shape.ToArray();
        long total = 0;
        for (var r = 0; r < requests.Count; r++)
        {
            rows[r] = requests[r][name].BatchSize;
            total += rows[r];
        }

        shape[0] = total;
        if (type == OrtElementType.String)
        {
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
            var index = 0;
            for (var r = 0; r < requests.Count; r++)
            {
                foreach (var s in requests[r][name].AsSpan<string>()) value.StringTensorSetElementAt(s.AsSpan(), index++);
            }

            return value;
        }

        var stacked = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, shape);
        var destination = stacked.GetTensorMutableRawData();
        var offset = 0;
        for (var r = 0; r < requests.Count; r++)
        {
            var bytes = requests[r][name].AsBytes();
            bytes.CopyTo(destination[offset..]);
            offset += bytes.Length;
        }

        return stacked;
    }

    private static OrtValue CreateStrings(Tensor tensor, long[] shape)
    {
        var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, shape);
        var strings = tensor.AsSpan<string>();
        for (var i = 0; i < strings.Length; i++) value.StringTensorSetElementAt(strings[i].AsSpan(), i);
        return value;
    }

    private static Tensor ToTensor(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        var type = FromOrt(info.ElementDataType);
        if (type == TensorElementType.String)
        {
            return Tensor.Create(value.GetStringTensorAsArray(), shape);
        }

        var tensor = Tensor.Allocate(type, shape);
        var source = value.GetTensorDataAsSpan<byte>();
        var destination = tensor.AsBytes();
        source.CopyTo(destination);
        return tensor;
    }

    private static TensorSpec Describe(string name, NodeMetadata meta)
    {
        if (!meta.IsTensor)
        {
            throw new InvalidModelConfigException($"'{name}' is a {meta.OnnxValueType}; only tensor inputs and outputs are supported.");
        }

        var dims = new long[meta.Dimensions.Length];
        for (var d = 0; d < dims.Length; d++) dims[d] = meta.Dimensions[d] < 0 ? -1 : meta.Dimensions[d];
        return new TensorSpec(name, FromOrt(meta.ElementDataType), dims);
    }

    internal static TensorElementType FromOrt(OrtElementType type) => type switch
    {
        OrtElementType.Float => TensorElementType.Float32,
        OrtElementType.Float16 => TensorElementType.Float16,
        OrtElementType.Double => TensorElementType.Float64,
        OrtElementType.Int64 => TensorElementType.Int64,
        OrtElementType.Int32 => TensorElementType.Int32,
        OrtElementType.Int8 => TensorElementType.Int8,
        OrtElementType.UInt8 => TensorElementType.UInt8,
        OrtElementType.Bool => TensorElementType.Bool,
        OrtElementType.String => TensorElementType.String,
        _ => throw new InvalidModelConfigException($"ONNX element type {type} is not supported; supported: float, float16, double, int64, int32, int8, uint8, bool, string."),
    };

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _session.Dispose();
        _sessionOptions.Dispose();
        _runOptions.Dispose();
        while (_runOptionsPool.TryTake(out var options)) options.Dispose();
    }
}
