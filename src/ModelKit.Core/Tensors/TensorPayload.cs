namespace ModelKit.Tensors;

/// <summary>A tensor on the wire: name (Open Inference Protocol outputs only), shape, datatype and flat row-major data.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(TensorPayloadJsonConverter))]
public sealed record TensorPayload
{
    /// <summary>The tensor's name where the protocol lists tensors in an array.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Name { get; init; }

    /// <summary>The dimensions.</summary>
    public required long[] Shape { get; init; }

    /// <summary>FP32, FP16, FP64, INT64, INT32, INT8, UINT8, BOOL or BYTES.</summary>
    public required string Datatype { get; init; }

    /// <summary>The elements, row-major (a typed array, serialised as a JSON array).</summary>
    public required Array Data { get; init; }
}
