using System.Globalization;
using ModelKit.Backends;

namespace ModelKit.AspNetCore;

/// <summary>
/// What seed 000's <c>resource_requirements</c> and container settings become in an in-process server: <c>memory</c> is
/// reserved out of the model cache's budget (Core), <c>nvidia.com/gpu</c> asks for CUDA when the server serves on CUDA
/// and falls back to the CPU otherwise (with a note), <c>cpu</c> is checked and not applied (models share the server's
/// cores), and container settings are noted as not used.
/// </summary>
internal static class DeploymentResources
{
    /// <summary>
    /// The device to deploy on: <paramref name="device"/> when given (ModelKit's own field); else, for one or more GPUs, the
    /// server's default device when that is CUDA, or the CPU with a note (the fallback the status shows as
    /// <c>device: cpu</c>, <c>resource_usage.gpu: "0"</c>); else null (the server's default device).
    /// </summary>
    public static string? Device(string? device, ResourceRequirements? resources, string defaultDevice, List<string> notes)
    {
        var gpus = Gpus(resources?.Gpu);
        if (device is not null)
        {
            if (gpus > 0) notes.Add($"'device' {DeploymentApiErrors.Bounded(device)} was given, so nvidia.com/gpu ({gpus}) is not used to choose one.");
            return device;
        }

        if (gpus == 0) return null;
        if (ExecutionDevice.TryParse(defaultDevice, out var serverDevice) && serverDevice.Kind == DeviceKind.Cuda)
        {
            if (gpus > 1) notes.Add($"nvidia.com/gpu: {gpus} asked; a deployment runs on one device, so it runs on {serverDevice}.");
            return serverDevice.ToString();
        }

        notes.Add($"nvidia.com/gpu: {gpus} asked, but this server serves on the CPU (ModelKit:Inference:DefaultDevice is '{defaultDevice}'): " +
            "the deployment runs on cpu. Configure a CUDA device to serve on a GPU.");
        return ExecutionDevice.Cpu.ToString();
    }

    /// <summary>
    /// Notes for the settings of a deploy or update that an in-process server does not apply: <c>resource_requirements.cpu</c>
    /// (checked first), <c>docker_image</c>, a <c>framework</c> other than <paramref name="servedFramework"/> and
    /// <c>scaling_config.target_cpu_utilization</c>.
    /// </summary>
    public static void NoteNotApplied(
        ResourceRequirements? resources, ScalingConfig? scaling, string? dockerImage, string? framework, string servedFramework, List<string> notes)
    {
        CheckCpu(resources?.Cpu, notes);
        NoteContainer(dockerImage, framework, servedFramework, notes);
        if (scaling?.TargetCpuUtilization is not null) notes.Add("target_cpu_utilization is not used: the autoscaler follows queued requests per replica (target_queue_depth).");
    }

    // Checks resource_requirements.cpu (a Kubernetes CPU quantity: 2, 0.5, 500m) and notes that it is not applied.
    private static void CheckCpu(string? cpu, List<string> notes)
    {
        if (string.IsNullOrWhiteSpace(cpu)) return;
        var text = cpu.Trim();
        var number = text.EndsWith('m') ? text[..^1] : text;
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            throw new InvalidModelConfigException($"'resource_requirements.cpu' must be a CPU quantity such as 2, 0.5 or 500m (was '{DeploymentApiErrors.Bounded(text)}').");
        }

        notes.Add($"cpu: {text} is not applied: models run in the server's process and share its cores.");
    }

    // Notes for container settings that an in-process runtime does not use.
    private static void NoteContainer(string? dockerImage, string? framework, string servedFramework, List<string> notes)
    {
        if (!string.IsNullOrWhiteSpace(dockerImage)) notes.Add($"docker_image '{DeploymentApiErrors.Bounded(dockerImage)}' is not used: ModelKit serves models in its own process.");
        if (!string.IsNullOrWhiteSpace(framework) && !framework.Equals(servedFramework, StringComparison.OrdinalIgnoreCase))
        {
            notes.Add($"framework '{DeploymentApiErrors.Bounded(framework)}' is not used: the registered artifact is {servedFramework} and ModelKit serves it with its {servedFramework} backend.");
        }
    }

    private static int Gpus(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return 0;
        return int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            ? count
            : throw new InvalidModelConfigException($"'resource_requirements.nvidia.com/gpu' must be a whole number of GPUs (was '{DeploymentApiErrors.Bounded(text)}').");
    }

    /// <summary>Bytes as a Kubernetes quantity: <c>8Gi</c>, <c>2.3Mi</c>, <c>512</c>.</summary>
    public static string Quantity(long bytes)
    {
        string[] units = ["Ki", "Mi", "Gi", "Ti"];
        if (bytes < 1024) return bytes.ToString(CultureInfo.InvariantCulture);
        double value = bytes;
        var unit = -1;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return Math.Round(value, 1).ToString("0.#", CultureInfo.InvariantCulture) + units[unit];
    }
}
