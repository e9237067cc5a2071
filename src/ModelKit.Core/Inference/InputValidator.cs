using System.Text;
using ModelKit.Tensors;

namespace ModelKit.Inference;

/// <summary>Checks a request's inputs against a model's signature, with messages that say what would be right.</summary>
internal static class InputValidator
{
    public static void Validate(string modelId, ModelSignature signature, IReadOnlyDictionary<string, Tensor> inputs)
    {
        List<string>? errors = null;
        long batch = -1;
        string? batchInput = null;
        var present = 0;
        foreach (var spec in signature.Inputs)
        {
            if (!inputs.TryGetValue(spec.Name, out var tensor) || tensor is null)
            {
                (errors ??= []).Add($"input '{spec.Name}' ({spec.Describe()}) is missing");
                continue;
            }

            present++;

            var shape = tensor.Shape;
            var ok = tensor.ElementType == spec.ElementType && shape.Length == spec.Shape.Count;
            for (var d = 0; ok && d < shape.Length; d++)
            {
                if (spec.Shape[d] >= 0 && spec.Shape[d] != shape[d]) ok = false;
            }

            if (!ok)
            {
                (errors ??= []).Add($"input '{spec.Name}' expects {spec.Describe()}, got {tensor}");
                continue;
            }

            if (spec.HasDynamicBatch && shape.Length > 0)
            {
                if (batch < 0)
                {
                    batch = shape[0];
                    batchInput = spec.Name;
                }
                else if (shape[0] != batch)
                {
                    (errors ??= []).Add($"input '{spec.Name}' has {shape[0]} rows but input '{batchInput}' has {batch}; all inputs must agree on dimension 0");
                }
            }
        }

        // Some given names are not inputs of the model: name them.
        if (inputs.Count > present)
        {
            foreach (var name in inputs.Keys)
            {
                if (signature.FindInput(name) is null) (errors ??= []).Add($"input '{name}' is not an input of the model");
            }
        }

        if (errors is null) return;
        var message = new StringBuilder($"Invalid input for model '{modelId}': ");
        message.AppendJoin("; ", errors).Append(". The model takes: ");
        for (var i = 0; i < signature.Inputs.Count; i++)
        {
            if (i > 0) message.Append(", ");
            message.Append(signature.Inputs[i].Name).Append(' ').Append(signature.Inputs[i].Describe());
        }

        throw new InvalidInputException(message.Append('.').ToString());
    }
}
