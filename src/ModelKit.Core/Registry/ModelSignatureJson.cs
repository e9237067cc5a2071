using System.Text.Json;
using ModelKit.Tensors;

namespace ModelKit.Registry;

/// <summary>A model signature as the metadata store keeps it: <c>{"Inputs":[{"Name","Type","Shape"}],"Outputs":[…]}</c>.</summary>
internal static class ModelSignatureJson
{
    private sealed record Spec(string Name, string Type, long[] Shape);

    private sealed record Doc(Spec[] Inputs, Spec[] Outputs);

    public static string Serialize(ModelSignature signature) => JsonSerializer.Serialize(new Doc(Map(signature.Inputs), Map(signature.Outputs)));

    public static ModelSignature? Deserialize(string json)
    {
        var doc = JsonSerializer.Deserialize<Doc>(json);
        return doc is null ? null : new ModelSignature(Unmap(doc.Inputs), Unmap(doc.Outputs));
    }

    private static Spec[] Map(IReadOnlyList<TensorSpec> specs)
    {
        var result = new Spec[specs.Count];
        for (var i = 0; i < result.Length; i++) result[i] = new Spec(specs[i].Name, specs[i].ElementType.GetName(), [.. specs[i].Shape]);
        return result;
    }

    private static TensorSpec[] Unmap(Spec[] specs)
    {
        var result = new TensorSpec[specs.Length];
        for (var i = 0; i < result.Length; i++)
        {
            _ = TensorElementTypes.TryParse(specs[i].Type, out var type);
            result[i] = new TensorSpec(specs[i].Name, type, specs[i].Shape);
        }

        return result;
    }
}
