namespace ModelKit.AspNetCore;

internal sealed record PreloadBody
{
    public string? ModelId { get; init; }
    public string? ModelName { get; init; }
    public string? Version { get; init; }
    public List<string>? Models { get; init; }
}
