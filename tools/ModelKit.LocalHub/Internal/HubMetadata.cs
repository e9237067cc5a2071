using System.Text.Json;

namespace ModelKit.LocalHub.Internal;

/// <summary>
/// A repository's <c>.hub.json</c>: the hub metadata that is not in its files. Every field is optional; counts default to
/// 0 (a local hub has no download or like counts), dates to the files' times.
/// </summary>
internal sealed class HubMetadata
{
    public const string FileName = ".hub.json";

    public static readonly HubMetadata Empty = new();

    public long Downloads { get; private init; }

    public long Likes { get; private init; }

    public IReadOnlyList<string> Tags { get; private init; } = [];

    public string? PipelineTag { get; private init; }

    public string? LibraryName { get; private init; }

    public string? CreatedAt { get; private init; }

    public string? LastModified { get; private init; }

    /// <summary><c>false</c>, <c>"auto"</c> or <c>"manual"</c> as on the hub (a clone of the JSON value).</summary>
    public JsonElement? Gated { get; private init; }

    /// <summary>Reads <paramref name="path"/>; <see cref="Empty"/> when it does not exist.</summary>
    /// <exception cref="InvalidDataException">The file is not the JSON object described above.</exception>
    public static HubMetadata Read(string path)
    {
        if (!File.Exists(path)) return Empty;
        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"'{path}' must hold a JSON object, not a {root.ValueKind}.");
            return new HubMetadata
            {
                Downloads = Number(root, "downloads", path),
                Likes = Number(root, "likes", path),
                Tags = root.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array
                    ? [.. tags.EnumerateArray().Select(t => t.GetString() ?? "")]
                    : [],
                PipelineTag = Text(root, "pipeline_tag"),
                LibraryName = Text(root, "library_name"),
                CreatedAt = Text(root, "createdAt"),
                LastModified = Text(root, "lastModified"),
                Gated = root.TryGetProperty("gated", out var gated) ? gated.Clone() : null,
            };
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidDataException($"'{path}' has a field of the wrong kind: {e.Message}", e);
        }
    }

    private static long Number(JsonElement root, string name, string path)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null) return 0;
        return value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) && number >= 0
            ? number
            : throw new InvalidDataException($"'{path}': \"{name}\" must be a whole number of at least 0, got {value.GetRawText()}.");
    }

    private static string? Text(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
