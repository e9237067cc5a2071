using ModelKit.Deployments;

namespace ModelKit.AspNetCore;

/// <summary>
/// Seed 000's deployment states (<c>pending | running | failed | stopped</c>) from ModelKit's, the one mapping table of
/// the surface: loading is still pending (nothing serves yet), stopping no longer accepts requests, and a registered
/// model without any deployment is stopped (not serving through a deployment).
/// </summary>
internal static class DeploymentStatusNames
{
    public const string Pending = "pending";
    public const string Running = "running";
    public const string Failed = "failed";
    public const string Stopped = "stopped";

    /// <summary>The seed's name for <paramref name="state"/>; <see cref="Stopped"/> for a model without a deployment.</summary>
    public static string Of(DeploymentState? state) => state switch
    {
        DeploymentState.Pending or DeploymentState.Loading => Pending,
        DeploymentState.Running => Running,
        DeploymentState.Failed => Failed,
        _ => Stopped,
    };

    /// <summary>Whether <paramref name="text"/> is one of the seed's names (any case).</summary>
    public static bool IsName(string text) =>
        text.Equals(Pending, StringComparison.OrdinalIgnoreCase) || text.Equals(Running, StringComparison.OrdinalIgnoreCase)
        || text.Equals(Failed, StringComparison.OrdinalIgnoreCase) || text.Equals(Stopped, StringComparison.OrdinalIgnoreCase);
}
