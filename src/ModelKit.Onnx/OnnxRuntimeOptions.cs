namespace ModelKit.Onnx;

/// <summary>Settings of the ONNX Runtime backend.</summary>
public sealed class OnnxRuntimeOptions
{
    /// <summary>
    /// Threads one run may use inside an operator, for every session; a deployment's own setting wins. Null: one per core
    /// for a model that runs one batch at a time, and the cores divided by the replicas (at least one) for a deployment
    /// whose replicas run at once on the CPU, decided when the session is created. Default: null.
    /// </summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>Threads for running independent graph branches in parallel; null leaves ONNX Runtime's default. Default: null.</summary>
    public int? InterOpThreads { get; set; }

    /// <summary>Graph optimisation level. Default: <see cref="OnnxGraphOptimization.All"/>.</summary>
    public OnnxGraphOptimization GraphOptimization { get; set; } = OnnxGraphOptimization.All;

    /// <summary>
    /// Whether intra-op threads spin while waiting for work. Spinning lowers latency and raises CPU use.
    /// Default: true (ONNX Runtime's default).
    /// </summary>
    public bool AllowSpinning { get; set; } = true;

    /// <summary>
    /// Share one process-wide thread pool between all sessions instead of a pool per session, so that many loaded
    /// models do not oversubscribe the cores. Must be decided before the first ONNX Runtime call in the process.
    /// Default: false.
    /// </summary>
    public bool UseSharedThreadPool { get; set; }

    /// <summary>Threads of the shared pool when <see cref="UseSharedThreadPool"/> is set; null: one per core. Default: null.</summary>
    public int? SharedThreadPoolSize { get; set; }

    /// <summary>
    /// The path of an execution-provider plugin library (for example <c>libonnxruntime_providers_cuda.so</c>) used for
    /// <c>cuda</c> devices through ONNX Runtime's plugin API. Null: use the CUDA provider built into the native package, if any.
    /// </summary>
    public string? ExecutionProviderLibraryPath { get; set; }

    /// <summary>The name the plugin library is registered under. Default: <c>CUDA</c>.</summary>
    public string ExecutionProviderRegistrationName { get; set; } = "CUDA";

    /// <summary>When a CUDA device is asked for but unavailable, run on the CPU (logged) instead of failing with DEVICE_UNAVAILABLE. Default: false.</summary>
    public bool CpuFallback { get; set; }
}
