using ModelKit.Deployments;

namespace ModelKit.AspNetCore;

/// <summary>Seed 004's names for deployment states: the one mapping table of the surface.</summary>
internal static class LlmVocabulary
{
    /// <summary>
    /// <c>starting</c> (pending or loading), <c>running</c>, <c>stopping</c>, <c>stopped</c>, and <c>error</c> for a failed
    /// deployment (the seed's deployment states; its <c>failed</c> belongs to download tasks).
    /// </summary>
    public static string DeploymentStatus(DeploymentState state) => state switch
    {
        DeploymentState.Pending or DeploymentState.Loading => "starting",
        DeploymentState.Running => "running",
        DeploymentState.Stopping => "stopping",
        DeploymentState.Stopped => "stopped",
        _ => "error",
    };

    /// <summary>The states a <c>status</c> filter names; INVALID_INPUT listing the names for any other.</summary>
    public static DeploymentState[] StatesNamed(string status) => status.ToLowerInvariant() switch
    {
        "starting" => [DeploymentState.Pending, DeploymentState.Loading],
        "running" => [DeploymentState.Running],
        "stopping" => [DeploymentState.Stopping],
        "stopped" => [DeploymentState.Stopped],
        "error" or "failed" => [DeploymentState.Failed],
        _ => throw new InvalidInputException(
            $"'status' must be starting, running, stopping, stopped or error (was '{ClientText.Quote(status, 32)}')."),
    };
}
