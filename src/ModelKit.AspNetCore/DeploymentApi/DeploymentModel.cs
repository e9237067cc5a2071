using System.Text.Json.Nodes;

namespace ModelKit.AspNetCore;

/// <summary>
/// A model in seed 000's shapes (a list item; with <c>versions</c> and <c>description</c> as the answer to get): the
/// version its deployment serves (else its default version) and seed 000's state of that deployment.
/// </summary>
internal sealed record DeploymentModel
{
    public required string ModelId { get; init; }
    public required string Name { get; init; }
    public string? Version { get; init; }

    /// <summary>pending, running, failed or stopped (also for a model that was never deployed: <c>deployment_id</c> is then absent).</summary>
    public required string Status { get; init; }
    public string? ModelType { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    public string? DeploymentId { get; init; }
    public required string Framework { get; init; }
    public string? Description { get; init; }
    public IReadOnlyList<JsonObject>? Versions { get; init; }
}
