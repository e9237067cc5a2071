using ModelKit.Deployments;

namespace ModelKit.AspNetCore;

/// <summary>
/// Seed 000's answer to deploy and to <c>PUT</c> with <c>config</c>: <c>deployment_id</c> and <c>message</c>, with what
/// ModelKit did (version, state, device) and notes on the requested settings it does not apply.
/// </summary>
internal sealed record DeployResponse
{
    /// <summary>The answer for <paramref name="info"/>, with the settings not applied (none: no <c>notes</c>).</summary>
    public static DeployResponse Of(DeploymentInfo info, string message, List<string> notes) => new()
    {
        DeploymentId = info.DeploymentId,
        Message = message,
        ModelId = info.ModelId,
        Version = info.Version,
        Status = DeploymentStatusNames.Of(info.State),
        Device = info.Device,
        Notes = notes.Count == 0 ? null : notes,
    };

    public string? DeploymentId { get; init; }
    public required string Message { get; init; }
    public required string ModelId { get; init; }
    public string? Version { get; init; }

    /// <summary>Seed 000's state: pending, running, failed or stopped.</summary>
    public string? Status { get; init; }

    /// <summary>The device that serves it: <c>cpu</c> or <c>cuda:N</c>.</summary>
    public string? Device { get; init; }

    /// <summary>Requested settings that were not applied as asked, and why (a GPU asked for on a CPU server, a docker image …).</summary>
    public IReadOnlyList<string>? Notes { get; init; }
}
