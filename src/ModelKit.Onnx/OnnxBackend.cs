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
    private static readonly SemaphoreSlim MeasureGate = new(1, 1);
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
    public async ValueTask<IModelSession> LoadAsync(ModelLoadRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!File.Exists(request.ArtifactPath))
        {
            throw new ModelUnavailableException($"The model file '{Path.GetFileName(request.ArtifactPath)}' does not exist on this server.");
        }

        var measure = _options.MeasureMemory;
        if (measure) await MeasureGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Session creation is CPU-bound and can take seconds: keep it off the caller's synchronisation context.
            return await Task.Run(() => Create(request, measure), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            if (measure) MeasureGate.Release();
        }
    }

    private OnnxModelSession Create(ModelLoadRequest request, bool measure)
    {
        var env = EnsureEnvironment();
        var started = Stopwatch.GetTimestamp();
        var before = measure ? CurrentResidentBytes() : 0;
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
        try
        {
            if (UsesSharedThreadPool)
            {
                sessionOptions.DisablePerSessionThreads();
            }
            else
            {
                var intra = request.IntraOpThreads ?? _options.IntraOpThreads;
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

            var after = measure ? CurrentResidentBytes() : 0;
            var fileSize = new FileInfo(request.ArtifactPath).Length;
            var measured = after - before;
            var (bytes, method) = measure && measured > 0
                ? (measured, MemoryMeasurement.Measured)
                : (fileSize, MemoryMeasurement.Estimated);
            var elapsed = Stopwatch.GetElapsedTime(started);
            Log.SessionCreated(_logger, request.ArtifactPath, device.ToString(), elapsed.TotalMilliseconds);
            var result = new OnnxModelSession(session, sessionOptions, device, bytes, method);
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

    private static long CurrentResidentBytes()
    {
        // /proc/self/statm: size resident shared ... in pages.
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return Environment.WorkingSet;
        }
    }
}
