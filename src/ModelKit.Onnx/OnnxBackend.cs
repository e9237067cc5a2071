using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using ModelKit.Backends;

namespace ModelKit.Onnx;

/// <summary>The ONNX Runtime backend: loads <c>.onnx</c> files into sessions on the CPU or a CUDA device.</summary>
public sealed class OnnxBackend : IInferenceBackend
{
    private static readonly Lock EnvGate = new();
    private static readonly Dictionary<string, IReadOnlyList<OrtEpDevice>> RegisteredLibraries = [];
    private static bool s_sharedPoolCreated;
    private readonly OnnxRuntimeOptions _options;
    private readonly ILogger _logger;

    /// <summary>Creates the backend.</summary>
    public OnnxBackend(IOptions<OnnxRuntimeOptions> options, ILogger<OnnxBackend>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Framework => "onnx";

    /// <summary>The ONNX Runtime version of the native library in use.</summary>
    public static string RuntimeVersion => OrtEnv.Instance().GetVersionString();

    /// <inheritdoc />
    /// <remarks>
    /// The figure is 1.25 × the bytes of the model's own tensors (initializers, sparse initializers, and the constants and
    /// subgraphs in node attributes, read from the file's structure without loading it) plus 2 MiB, reported as
    /// <see cref="MemoryMeasurement.InitializerEstimate"/>; or the same formula over the file's size
    /// (<see cref="MemoryMeasurement.Estimated"/>) when the file cannot be read as a model. Null when the file does not exist.
    /// A session of the same file reports the same figure on every load. On a CUDA device the figure still describes the
    /// weights' bytes; the cache's limit does not tell host from device memory.
    /// </remarks>
    public ValueTask<long?> EstimateMemoryAsync(ModelLoadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!File.Exists(request.ArtifactPath)) return ValueTask.FromResult<long?>(null);
        return new ValueTask<long?>(Task.Run<long?>(() =>
        {
            try
            {
                return EstimateMemory(request.ArtifactPath).Bytes;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null; // unreadable now: the load that follows reports it (without the path)
            }
        }, cancellationToken));
    }

    /// <summary>
    /// A session's figure as a multiple of its tensors' bytes: 1.25. Measured once with ONNX Runtime 1.31.1 on the CPU, as the
    /// resident-set growth of six live sessions of each model created one after another in an otherwise idle process:
    /// generated BERT-style encoders with 20 and 132 MiB of weights grew by 1.0–1.4× their weights (1.2–1.3× on average),
    /// whatever the graph optimisation level: the weights, the parsed model while the session is built and the C heap's
    /// slack. With the heap's free pages handed back (malloc_trim) the growth is 1.0–1.1×; see docs/benchmarks.md.
    /// </summary>
    internal const double InitializerBytesFactor = 1.25;

    /// <summary>
    /// The fixed part of a session's figure: 2 MiB (graph, kernels, execution plan and the first arena block of a small
    /// model; the measured sessions of the 0.5 MiB PaddleOCR classifier grew by 2.3–2.9 MiB).
    /// </summary>
    internal const long SessionOverheadBytes = 2L << 20;

    /// <summary>The figure <see cref="EstimateMemoryAsync"/> returns and a session of <paramref name="path"/> reports, with its method.</summary>
    internal static (long Bytes, MemoryMeasurement Method) EstimateMemory(string path)
    {
        var (tensorBytes, method) = OnnxInitializerSize.Read(path) is { } bytes
            ? (bytes, MemoryMeasurement.InitializerEstimate)
            : (new FileInfo(path).Length, MemoryMeasurement.Estimated);
        return ((long)Math.Ceiling(tensorBytes * InitializerBytesFactor) + SessionOverheadBytes, method);
    }

    /// <inheritdoc />
    public async ValueTask<IModelSession> LoadAsync(ModelLoadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!File.Exists(request.ArtifactPath))
        {
            throw new ModelUnavailableException($"The model file '{Path.GetFileName(request.ArtifactPath)}' does not exist on this server.");
        }

        // Session creation (and, for a new version, reading its tokenizer files once, so that a broken one is refused at
        // upload instead of failing every embedding request later) is CPU-bound: keep it off the caller's context.
        return await Task.Run(
            () =>
            {
                if (request.VersionDirectory is { } folder) _ = Text.ModelTokenizers.LoadFromDirectory(folder);
                return Create(request);
            },
            cancellationToken).ConfigureAwait(false);
    }

    private OnnxModelSession Create(ModelLoadRequest request)
    {
        var env = EnsureEnvironment();
        var started = Stopwatch.GetTimestamp();
        var (bytes, method) = EstimateMemory(request.ArtifactPath);
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = _options.GraphOptimization switch
            {
                OnnxGraphOptimization.None => GraphOptimizationLevel.ORT_DISABLE_ALL,
                OnnxGraphOptimization.Basic => GraphOptimizationLevel.ORT_ENABLE_BASIC,
                OnnxGraphOptimization.Extended => GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
                _ => GraphOptimizationLevel.ORT_ENABLE_ALL,
            },
        };
        InferenceSession? session = null;
        int? intra = null;
        try
        {
            if (UsesSharedThreadPool)
            {
                sessionOptions.DisablePerSessionThreads();
            }
            else
            {
                intra = request.IntraOpThreads ?? _options.IntraOpThreads ?? CoreShare(request);
                if (intra is { } n) sessionOptions.IntraOpNumThreads = n;
                if (_options.InterOpThreads is { } m) sessionOptions.InterOpNumThreads = m;
                if (!_options.AllowSpinning) sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            }

            var device = ConfigureDevice(env, sessionOptions, request);
            try
            {
                session = new InferenceSession(request.ArtifactPath, sessionOptions);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new InvalidModelConfigException($"ONNX Runtime cannot load '{Path.GetFileName(request.ArtifactPath)}': {ex.Message}", ex);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            var threads = UsesSharedThreadPool ? "the shared pool's" : intra?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "ONNX Runtime's default";
            Log.SessionCreated(_logger, request.ArtifactPath, device.ToString(), threads, elapsed.TotalMilliseconds);
            var result = new OnnxModelSession(session, sessionOptions, device, bytes, method) { IntraOpThreads = intra };
            session = null;
            return result;
        }
        catch
        {
            session?.Dispose();
            sessionOptions.Dispose();
            throw;
        }
    }

    // Concurrent runs of one CPU session split the cores between them: with one intra-op thread per core for each, two
    // runs at once keep ONNX Runtime's worker threads spinning against each other and against the threads serving the
    // requests (measured on the demo MLP served over HTTP with 2 replicas on 2 cores: ONNX Runtime took 36 % of the
    // process's CPU, against 7 % with one thread per run). Null (ONNX Runtime's default) for a single run or a GPU.
    private static int? CoreShare(ModelLoadRequest request) =>
        request.ConcurrentRuns > 1 && request.Device.Kind == DeviceKind.Cpu ? Math.Max(1, Environment.ProcessorCount / request.ConcurrentRuns) : null;

    private ExecutionDevice ConfigureDevice(OrtEnv env, SessionOptions sessionOptions, ModelLoadRequest request)
    {
        var device = request.Device;
        if (device.Kind == DeviceKind.Cpu) return device;
        try
        {
            if (_options.ExecutionProviderLibraryPath is { } library)
            {
                var devices = RegisterLibrary(env, library);
                var chosen = new List<OrtEpDevice>();
                foreach (var d in devices)
                {
                    if (d.HardwareDevice.Type == OrtHardwareDeviceType.GPU) chosen.Add(d);
                }

                if (chosen.Count <= device.Index)
                {
                    throw new DeviceUnavailableException(
                        $"Device {device} was asked for but the execution-provider library '{library}' offers {chosen.Count} GPU device(s).");
                }

                sessionOptions.AppendExecutionProvider(env, [chosen[device.Index]], new Dictionary<string, string> { ["device_id"] = device.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            }
            else
            {
                if (!env.GetAvailableProviders().Contains("CUDAExecutionProvider"))
                {
                    throw new DeviceUnavailableException(
                        $"Device {device} is not available: this ONNX Runtime build ({env.GetVersionString()}) has no CUDA execution provider. " +
                        "Reference a CUDA build of ONNX Runtime, or set OnnxRuntimeOptions.ExecutionProviderLibraryPath to a CUDA provider library.");
                }

                try
                {
                    sessionOptions.AppendExecutionProvider_CUDA(device.Index);
                }
                catch (Exception ex) when (ex is OnnxRuntimeException or EntryPointNotFoundException)
                {
                    throw new DeviceUnavailableException($"Device {device} is not available: {ex.Message}", ex);
                }
            }

            return device;
        }
        catch (DeviceUnavailableException ex) when (_options.CpuFallback)
        {
            Log.FallingBackToCpu(_logger, device.ToString(), ex.Message, request.ArtifactPath);
            return ExecutionDevice.Cpu;
        }
    }

    private IReadOnlyList<OrtEpDevice> RegisterLibrary(OrtEnv env, string library)
    {
        lock (EnvGate)
        {
            if (RegisteredLibraries.TryGetValue(library, out var known)) return known;
            if (!File.Exists(library)) throw new DeviceUnavailableException($"The execution-provider library '{library}' does not exist.");
            try
            {
                env.RegisterExecutionProviderLibrary(_options.ExecutionProviderRegistrationName, library);
            }
            catch (OnnxRuntimeException ex)
            {
                throw new DeviceUnavailableException($"ONNX Runtime could not register the execution-provider library '{library}': {ex.Message}", ex);
            }

            var devices = new List<OrtEpDevice>();
            foreach (var d in env.GetEpDevices())
            {
                if (!string.Equals(d.EpName, "CPUExecutionProvider", StringComparison.Ordinal)) devices.Add(d);
            }

            Log.ProviderLibraryRegistered(_logger, library, _options.ExecutionProviderRegistrationName, string.Join(", ", devices.Select(d => $"{d.EpName}/{d.HardwareDevice.Type}")));
            RegisteredLibraries[library] = devices;
            return devices;
        }
    }

    /// <summary>
    /// True when sessions of this backend run on the process-wide thread pool. It is false when
    /// <see cref="OnnxRuntimeOptions.UseSharedThreadPool"/> is off, or when ONNX Runtime's environment was created
    /// by someone else before this backend could create it with the pool (the sessions then get their own threads).
    /// </summary>
    public bool UsesSharedThreadPool
    {
        get
        {
            if (!_options.UseSharedThreadPool) return false;
            EnsureEnvironment();
            lock (EnvGate) return s_sharedPoolCreated;
        }
    }

    private OrtEnv EnsureEnvironment()
    {
        if (!_options.UseSharedThreadPool) return OrtEnv.Instance();
        lock (EnvGate)
        {
            if (OrtEnv.IsCreated)
            {
                if (!s_sharedPoolCreated && !_warnedNoSharedPool)
                {
                    _warnedNoSharedPool = true;
                    Log.SharedPoolUnavailable(_logger);
                }

                return OrtEnv.Instance();
            }

            s_sharedPoolCreated = true;
            using var threading = new OrtThreadingOptions { GlobalSpinControl = _options.AllowSpinning, GlobalInterOpNumThreads = 1 };
            if (_options.SharedThreadPoolSize is { } size) threading.GlobalIntraOpNumThreads = size;
            var creation = new EnvironmentCreationOptions { threadOptions = threading };
            return OrtEnv.CreateInstanceWithOptions(ref creation);
        }
    }

    private bool _warnedNoSharedPool;
}
