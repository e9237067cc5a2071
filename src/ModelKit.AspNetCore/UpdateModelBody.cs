namespace ModelKit.AspNetCore;

internal sealed record UpdateModelBody
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? ModelType { get; init; }
    public List<string>? Tags { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public bool? Favorite { get; init; }
    public string? DefaultVersion { get; init; }
    public UpdateConfig? Config { get; init; }
}
