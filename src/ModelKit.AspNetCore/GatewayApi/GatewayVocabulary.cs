using System.Globalization;
using ModelKit.Backends;
using ModelKit.Deployments;
using ModelKit.Registry;
using ModelKit.Scheduling;

namespace ModelKit.AspNetCore;

/// <summary>Seed 001's names for ModelKit's states, capabilities, hardware and quantities: the one mapping table of the surface.</summary>
internal static class GatewayVocabulary
{
    /// <summary>
    /// A model's status: <c>active</c> while it can serve (a running deployment, or on demand when
    /// <c>ServeUndeployedModels</c>); <c>deploying</c>/<c>stopping</c> while its deployment changes; <c>uploading</c> or
    /// <c>failed</c> for a default version that is not ready; <c>inactive</c> otherwise.
    /// </summary>
    public static string ModelStatus(ModelInfo model, DeploymentInfo? active, bool serveUndeployed) => model.Status switch
    {
        ModelVersionStatus.Uploading => "uploading",
        ModelVersionStatus.Failed => "failed",
        _ => active?.State switch
        {
            DeploymentState.Running => "active",
            DeploymentState.Pending or DeploymentState.Loading => "deploying",
            DeploymentState.Stopping => "stopping",
            _ => serveUndeployed ? "active" : "inactive",
        },
    };

    /// <summary>A local deployment's status, as seed 001's deploy and progress answers write it.</summary>
    public static string DeploymentStatus(DeploymentState state) => state switch
    {
        DeploymentState.Pending or DeploymentState.Loading => "in_progress",
        DeploymentState.Running => "completed",
        DeploymentState.Stopping => "unloading",
        DeploymentState.Stopped => "stopped",
        _ => "failed",
    };

    /// <summary>A deployed model's status in the local model list.</summary>
    public static string LocalModelStatus(DeploymentState state) => state switch
    {
        DeploymentState.Running => "active",
        DeploymentState.Pending or DeploymentState.Loading => "deploying",
        DeploymentState.Stopping => "unloading",
        DeploymentState.Stopped => "inactive",
        _ => "failed",
    };

    /// <summary>
    /// What the model can do, in seed 001's words where one fits (an encoder's <c>embedding</c>, a decoder's
    /// <c>completion</c> and <c>chat</c>), else its task (<c>classification</c>); every ONNX model also takes tensors
    /// (<c>inference</c>: seed 000's and 003's inference, the Open Inference Protocol).
    /// </summary>
    public static IReadOnlyList<string> Capabilities(string? task) => task?.ToLowerInvariant() switch
    {
        null or "" => ["inference"],
        "feature-extraction" or "embedding" or "embeddings" or "sentence-similarity" or "text-embedding" => ["embedding", "inference"],
        "text-generation" or "causal-lm" or "conversational" or "chat" => ["completion", "chat", "inference"],
        "text-classification" or "image-classification" or "classification" => ["classification", "inference"],
        var other => [other, "inference"],
    };

    /// <summary>The hardware of a device: the processor's model name for the CPU (when the system tells it), else the device.</summary>
    public static string Hardware(string device, string? cpuModelName) =>
        ExecutionDevice.TryParse(device, out var parsed) && parsed.Kind == DeviceKind.Cpu && !string.IsNullOrEmpty(cpuModelName) ? cpuModelName : device;

    /// <summary>A byte count as seed 001 writes memory (<c>28GB</c>, <c>14GB</c>): binary units, at most one decimal.</summary>
    public static string Memory(long bytes) => bytes switch
    {
        >= 1L << 30 => Decimal(bytes / (double)(1L << 30)) + "GB",
        >= 1L << 20 => Decimal(bytes / (double)(1L << 20)) + "MB",
        >= 1L << 10 => Decimal(bytes / 1024.0) + "KB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + "B",
    };

    /// <summary>A duration as seed 001 writes it (<c>10s</c>).</summary>
    public static string Duration(TimeSpan duration) => Decimal(duration.TotalSeconds, 3) + "s";

    /// <summary>A log level as seed 001's logs write it: <c>info</c>, <c>warning</c>, <c>error</c> ….</summary>
    public static string Level(Microsoft.Extensions.Logging.LogLevel level) => level switch
    {
        Microsoft.Extensions.Logging.LogLevel.Trace => "trace",
        Microsoft.Extensions.Logging.LogLevel.Debug => "debug",
        Microsoft.Extensions.Logging.LogLevel.Information => "info",
        Microsoft.Extensions.Logging.LogLevel.Warning => "warning",
        Microsoft.Extensions.Logging.LogLevel.Error => "error",
        _ => "critical",
    };

    /// <summary>Latency in milliseconds, null before the first request.</summary>
    public static double? LatencyMs(BatchQueueStats? stats) =>
        stats is { Succeeded: > 0 } ? Math.Round(stats.AverageLatency.TotalMilliseconds, 3) : null;

    /// <summary>Succeeded ÷ (succeeded + failed + timed out + refused); null before the first request.</summary>
    public static double? Availability(BatchQueueStats? stats)
    {
        if (stats is null) return null;
        var finished = stats.Succeeded + stats.Failed + stats.TimedOut + stats.Rejected;
        return finished == 0 ? null : Math.Round((double)stats.Succeeded / finished, 6);
    }

    private static string Decimal(double value, int digits = 1) => Math.Round(value, digits).ToString(CultureInfo.InvariantCulture);

    /// <summary>Seed 001's stage names: the download stage is its <c>downloading_weights</c>; the others keep ModelKit's names.</summary>
    public static string StageName(string stage) => stage == "download" ? "downloading_weights" : stage;
}
