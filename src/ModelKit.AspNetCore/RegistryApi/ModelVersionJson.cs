using System.Text.Json.Nodes;
using ModelKit.Registry;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

/// <summary>A model version as the registry surfaces show it: status, size, digest, files and signature.</summary>
internal static class ModelVersionJson
{
    /// <summary>The version's JSON object.</summary>
    public static JsonObject Of(ModelVersionInfo v) => new()
    {
        ["version"] = v.Version,
        ["status"] = ModelKitJson.Name(v.Status),
        ["size_bytes"] = v.SizeBytes,
        ["sha256"] = v.Sha256,
        ["created_at"] = v.CreatedAt,
        ["error"] = v.Error,
        ["files"] = new JsonArray([.. v.Files.Select(f => (JsonNode)new JsonObject { ["name"] = f.Name, ["size_bytes"] = f.SizeBytes, ["sha256"] = f.Sha256 })]),
        ["inputs"] = Specs(v.Signature?.Inputs),
        ["outputs"] = Specs(v.Signature?.Outputs),
    };

    /// <summary>Tensor specs as <c>{name, datatype, shape}</c> objects (null when unknown).</summary>
    public static JsonArray? Specs(IReadOnlyList<TensorSpec>? specs) => specs is null ? null : new JsonArray([.. specs.Select(s => (JsonNode)new JsonObject
    {
        ["name"] = s.Name,
        ["datatype"] = s.ElementType.GetDataTypeName(),
        ["shape"] = new JsonArray([.. s.Shape.Select(d => JsonValue.Create(d))]),
    })]);

}
