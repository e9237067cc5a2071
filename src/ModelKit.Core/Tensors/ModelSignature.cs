namespace ModelKit.Tensors;

/// <summary>What a loaded model takes and returns.</summary>
public sealed record ModelSignature
{
    /// <summary>Creates a signature.</summary>
    public ModelSignature(IReadOnlyList<TensorSpec> inputs, IReadOnlyList<TensorSpec> outputs)
    {
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>The inputs, in the model's order.</summary>
    public IReadOnlyList<TensorSpec> Inputs { get; init; }

    /// <summary>The outputs, in the model's order.</summary>
    public IReadOnlyList<TensorSpec> Outputs { get; init; }

    /// <summary>True when every input and output has a dynamic dimension 0, so requests can be merged into batches.</summary>
    public bool SupportsBatching
    {
        get
        {
            if (Inputs.Count == 0) return false;
            foreach (var spec in Inputs) if (!spec.HasDynamicBatch) return false;
            foreach (var spec in Outputs) if (!spec.HasDynamicBatch) return false;
            return true;
        }
    }

    /// <summary>The input with the given name, or null.</summary>
    public TensorSpec? FindInput(string name)
    {
        foreach (var spec in Inputs) if (spec.Name == name) return spec;
        return null;
    }
}
