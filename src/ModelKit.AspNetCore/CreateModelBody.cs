using System.Text.Json.Nodes;

namespace ModelKit.AspNetCore;

internal sealed record CreateModelBody
{
    public string? ModelId { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? Framework { get; init; }
    public string? ModelType { get; init; }
    public List<string>? Tags { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public JsonNode? WorkspaceId { get; init; }
}
