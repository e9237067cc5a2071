namespace ModelKit.AspNetCore;

// The probes beside seed 004's health (GET /health/live and /health/ready): bare objects, for orchestrators.

/// <summary><c>GET /health/live</c>: the process answers.</summary>
internal sealed record LivenessProbe(string Status, string Service, string? Version);

/// <summary><c>GET /health/ready</c>: <c>ready</c> or <c>not_ready</c> (503), each check's state, and the served models that cannot serve.</summary>
internal sealed record ReadinessProbe(string Status, IReadOnlyDictionary<string, string> Checks, IReadOnlyList<UnavailableModel> UnavailableModels);

/// <summary>A served model whose stored files are missing or corrupt.</summary>
internal sealed record UnavailableModel(string ModelId, string? Version, string? DeploymentId, string Reason);
