using System.Text.Json.Nodes;

namespace ModelKit.AspNetCore;

/// <summary>A model's versions in seed 002's <c>data</c> (ModelKit's versions resource; also the answer to deleting one).</summary>
internal sealed record RegistryVersions(string ModelId, string? DefaultVersion, IReadOnlyList<JsonObject> Versions);
