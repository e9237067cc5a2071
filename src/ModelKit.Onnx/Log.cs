using Microsoft.Extensions.Logging;

namespace ModelKit.Onnx;

internal static partial class Log
{
    [LoggerMessage(1001, LogLevel.Information, "Created ONNX Runtime session for {Path} on {Device} in {ElapsedMs:F1} ms.")]
    public static partial void SessionCreated(ILogger logger, string path, string device, double elapsedMs);

    [LoggerMessage(1002, LogLevel.Warning, "Device {Device} is not available ({Reason}); running {Path} on the CPU because CpuFallback is on.")]
    public static partial void FallingBackToCpu(ILogger logger, string device, string reason, string path);

    [LoggerMessage(1003, LogLevel.Information, "Registered execution-provider library {Path} as {Name}; devices: {Devices}.")]
    public static partial void ProviderLibraryRegistered(ILogger logger, string path, string name, string devices);
}
