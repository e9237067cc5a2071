namespace ModelKit.AspNetCore;

/// <summary>Seed 003's <c>POST /inference/models/preload</c>: one model (<c>model_name</c> or <c>model_id</c>, <c>version</c>) or several (<c>models</c>).</summary>
internal sealed record PreloadBody
{
    public string? ModelId { get; init; }
    public string? ModelName { get; init; }
    public string? Version { get; init; }
    public string? Engine { get; init; }
    public List<string>? Models { get; init; }
}
