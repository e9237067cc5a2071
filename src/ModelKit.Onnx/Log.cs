using Microsoft.Extensions.Logging;

namespace ModelKit.Onnx;

internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Created ONNX Runtime session for {Path} on {Device} ({IntraOpThreads} intra-op threads) in {ElapsedMs:F1} ms.")]
    public static partial void SessionCreated(ILogger logger, string path, string device, string intraOpThreads, double elapsedMs);

    [LoggerMessage(1002, LogLevel.Warning, "Device {Device} is not available ({Reason}); running {Path} on the CPU because CpuFallback is on.")]
    public static partial void FallingBackToCpu(ILogger logger, string device, string reason, string path);

    [LoggerMessage(1003, LogLevel.Information, "Registered execution-provider library {Path} as {Name}; devices: {Devices}.")]
    public static partial void ProviderLibraryRegistered(ILogger logger, string path, string name, string devices);

    [LoggerMessage(1004, LogLevel.Warning, "UseSharedThreadPool is on, but ONNX Runtime's environment was created before with per-session threads; sessions keep their own threads.")]
    public static partial void SharedPoolUnavailable(ILogger logger);

    [LoggerMessage(1005, LogLevel.Error, "A generation step of model {ModelId} failed; the generations in it were ended.")]
    public static partial void GenerationStepFailed(ILogger logger, string modelId, Exception exception);
}
