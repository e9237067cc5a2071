namespace ModelKit.Tensors;

/// <summary>Names and CLR types of <see cref="TensorElementType"/> values.</summary>
public static class TensorElementTypes
{
    /// <summary>The lower-case name used in messages and JSON (<c>float32</c>, <c>int64</c> …).</summary>
    public static string GetName(this TensorElementType type) => type switch
    {
        TensorElementType.Float32 => "float32",
        TensorElementType.Float16 => "float16",
        TensorElementType.Float64 => "float64",
        TensorElementType.Int64 => "int64",
        TensorElementType.Int32 => "int32",
        TensorElementType.Int8 => "int8",
        TensorElementType.UInt8 => "uint8",
        TensorElementType.Bool => "bool",
        TensorElementType.String => "string",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Parses a name produced by <see cref="GetName"/> (case-insensitive; also <c>float</c>, <c>double</c>, <c>long</c>, <c>int</c>).</summary>
    public static bool TryParse(string? name, out TensorElementType type)
    {
        switch (name?.ToUpperInvariant())
        {
            case "FLOAT32" or "FLOAT" or "FP32": type = TensorElementType.Float32; return true;
            case "FLOAT16" or "HALF" or "FP16": type = TensorElementType.Float16; return true;
            case "FLOAT64" or "DOUBLE" or "FP64": type = TensorElementType.Float64; return true;
            case "INT64" or "LONG": type = TensorElementType.Int64; return true;
            case "INT32" or "INT": type = TensorElementType.Int32; return true;
            case "INT8": type = TensorElementType.Int8; return true;
            case "UINT8" or "BYTE": type = TensorElementType.UInt8; return true;
            case "BOOL" or "BOOLEAN": type = TensorElementType.Bool; return true;
            case "STRING" or "BYTES": type = TensorElementType.String; return true;
            default: type = default; return false;
        }
    }

    /// <summary>The Open Inference Protocol's name of the type: <c>FP32</c>, <c>FP16</c>, <c>FP64</c>, <c>INT64</c>, <c>INT32</c>, <c>INT8</c>, <c>UINT8</c>, <c>BOOL</c>, <c>BYTES</c>.</summary>
    public static string GetDataTypeName(this TensorElementType type) => type switch
    {
        TensorElementType.Float32 => "FP32",
        TensorElementType.Float16 => "FP16",
        TensorElementType.Float64 => "FP64",
        TensorElementType.Int64 => "INT64",
        TensorElementType.Int32 => "INT32",
        TensorElementType.Int8 => "INT8",
        TensorElementType.UInt8 => "UINT8",
        TensorElementType.Bool => "BOOL",
        TensorElementType.String => "BYTES",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>Parses an Open Inference Protocol datatype name exactly as <see cref="GetDataTypeName"/> writes it (case-sensitive: <c>fp32</c> is not one).</summary>
    public static bool TryParseDataType(string? name, out TensorElementType type)
    {
        switch (name)
        {
            case "FP32": type = TensorElementType.Float32; return true;
            case "FP16": type = TensorElementType.Float16; return true;
            case "FP64": type = TensorElementType.Float64; return true;
            case "INT64": type = TensorElementType.Int64; return true;
            case "INT32": type = TensorElementType.Int32; return true;
            case "INT8": type = TensorElementType.Int8; return true;
            case "UINT8": type = TensorElementType.UInt8; return true;
            case "BOOL": type = TensorElementType.Bool; return true;
            case "BYTES": type = TensorElementType.String; return true;
            default: type = default; return false;
        }
    }

    /// <summary>The size of one element in bytes (0 for strings).</summary>
    public static int GetElementSize(this TensorElementType type) => type switch
    {
        TensorElementType.Float32 or TensorElementType.Int32 => 4,
        TensorElementType.Float64 or TensorElementType.Int64 => 8,
        TensorElementType.Float16 => 2,
        TensorElementType.Int8 or TensorElementType.UInt8 or TensorElementType.Bool => 1,
        _ => 0,
    };

    /// <summary>The element type of the CLR type <typeparamref name="T"/>.</summary>
    public static TensorElementType Of<T>()
    {
        if (typeof(T) == typeof(float)) return TensorElementType.Float32;
        if (typeof(T) == typeof(long)) return TensorElementType.Int64;
        if (typeof(T) == typeof(int)) return TensorElementType.Int32;
        if (typeof(T) == typeof(Half)) return TensorElementType.Float16;
        if (typeof(T) == typeof(double)) return TensorElementType.Float64;
        if (typeof(T) == typeof(sbyte)) return TensorElementType.Int8;
        if (typeof(T) == typeof(byte)) return TensorElementType.UInt8;
        if (typeof(T) == typeof(bool)) return TensorElementType.Bool;
        if (typeof(T) == typeof(string)) return TensorElementType.String;
        throw new NotSupportedException($"Element type {typeof(T).Name} is not supported; use float, Half, double, long, int, sbyte, byte, bool or string.");
    }
}
