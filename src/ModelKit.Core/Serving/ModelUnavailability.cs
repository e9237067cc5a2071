namespace ModelKit.Serving;

/// <summary>A served model that cannot serve (<see cref="IModelRouter.GetUnavailable"/>).</summary>
/// <param name="ModelId">The model.</param>
/// <param name="Version">The version.</param>
/// <param name="DeploymentId">The deployment serving it, or null when served on demand.</param>
/// <param name="Reason">Why, without server paths.</param>
public sealed record ModelUnavailability(string ModelId, string Version, string? DeploymentId, string Reason);
