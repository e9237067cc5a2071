namespace ModelKit.Tensors;

/// <summary>One input or output of a model: name, element type and shape (-1 for a dynamic dimension).</summary>
public sealed record TensorSpec
{
    /// <summary>Creates a spec.</summary>
    public TensorSpec(string name, TensorElementType elementType, IReadOnlyList<long> shape)
    {
        Name = name;
        ElementType = elementType;
        Shape = shape;
    }

    /// <summary>The tensor's name in the model.</summary>
    public string Name { get; init; }

    /// <summary>The element type.</summary>
    public TensorElementType ElementType { get; init; }

    /// <summary>The dimensions; -1 marks a dynamic one.</summary>
    public IReadOnlyList<long> Shape { get; init; }

    /// <summary>True when dimension 0 is dynamic, so requests can be stacked along it.</summary>
    public bool HasDynamicBatch => Shape.Count > 0 && Shape[0] < 0;

    /// <summary>The type and shape, e.g. <c>float32[?,4]</c>.</summary>
    public string Describe()
    {
        var shape = new long[Shape.Count];
        for (var i = 0; i < shape.Length; i++) shape[i] = Shape[i];
        return ElementType.GetName() + Tensor.FormatShape(shape);
    }
}
