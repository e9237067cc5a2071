namespace ModelKit.Tensors;

/// <summary>The element types ModelKit can pass to and from a backend.</summary>
public enum TensorElementType
{
    /// <summary>32-bit IEEE float (<see cref="float"/>).</summary>
    Float32,
    /// <summary>16-bit IEEE float (<see cref="Half"/>).</summary>
    Float16,
    /// <summary>64-bit IEEE float (<see cref="double"/>).</summary>
    Float64,
    /// <summary>Signed 64-bit integer (<see cref="long"/>).</summary>
    Int64,
    /// <summary>Signed 32-bit integer (<see cref="int"/>).</summary>
    Int32,
    /// <summary>Signed 8-bit integer (<see cref="sbyte"/>).</summary>
    Int8,
    /// <summary>Unsigned 8-bit integer (<see cref="byte"/>).</summary>
    UInt8,
    /// <summary>Boolean (<see cref="bool"/>).</summary>
    Bool,
    /// <summary>UTF-8 string (<see cref="string"/>).</summary>
    String,
}
