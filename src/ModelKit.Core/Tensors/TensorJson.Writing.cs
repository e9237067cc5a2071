using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelKit.Tensors;

// Writing a tensor straight from its elements, for answers written without the serializer.
public static partial class TensorJson
{
    /// <summary>
    /// Writes <paramref name="tensor"/> as <c>{"shape": […], "datatype": "FP32", "data": […]}</c> straight from its elements,
    /// without copying them: the JSON <see cref="WriteTensor(Tensor, string?)"/>'s payload serialises to. Property names
    /// follow <paramref name="options"/>' naming policy; NaN and ±Infinity are written as "NaN", "Infinity" and "-Infinity"
    /// where the options allow named floating-point literals, and refused (<see cref="ArgumentException"/>) otherwise.
    /// </summary>
    public static void WriteTensor(Utf8JsonWriter writer, Tensor tensor, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(tensor);
        var names = TensorPayloadJsonConverter.Names.For(options?.PropertyNamingPolicy);
        writer.WriteStartObject();
        writer.WriteStartArray(names.Shape);
        foreach (var d in tensor.Shape) writer.WriteNumberValue(d);
        writer.WriteEndArray();
        writer.WriteString(names.Datatype, tensor.ElementType.GetDataTypeName());
        writer.WritePropertyName(names.Data);
        WriteData(writer, tensor, options);
        writer.WriteEndObject();
    }

    /// <summary>
    /// Writes <paramref name="tensor"/>'s elements as one flat JSON array (row-major) straight from its memory: the
    /// <c>data</c> of <see cref="WriteTensor(Utf8JsonWriter, Tensor, JsonSerializerOptions?)"/>, for a protocol that lays
    /// the tensor's other fields out itself. FP16 is written as numbers, INT8 and UINT8 as integers, BYTES as strings;
    /// NaN and ±Infinity as the options allow (see there).
    /// </summary>
    public static void WriteData(Utf8JsonWriter writer, Tensor tensor, JsonSerializerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(tensor);
        var named = options is not null && (options.NumberHandling & JsonNumberHandling.AllowNamedFloatingPointLiterals) != 0;
        switch (tensor.ElementType)
        {
            case TensorElementType.Float32:
                TensorPayloadJsonConverter.WriteValues(writer, tensor.AsSpan<float>(), named);
                break;
            case TensorElementType.Float64:
                TensorPayloadJsonConverter.WriteValues(writer, tensor.AsSpan<double>(), named);
                break;
            case TensorElementType.Int64:
                TensorPayloadJsonConverter.WriteValues(writer, tensor.AsSpan<long>());
                break;
            case TensorElementType.Int32:
                TensorPayloadJsonConverter.WriteValues(writer, tensor.AsSpan<int>());
                break;
            case TensorElementType.Bool:
                TensorPayloadJsonConverter.WriteValues(writer, tensor.AsSpan<bool>());
                break;
            case TensorElementType.Float16:
                writer.WriteStartArray();
                foreach (var v in tensor.AsSpan<Half>())
                {
                    if (Half.IsFinite(v)) writer.WriteNumberValue((float)v);
                    else TensorPayloadJsonConverter.WriteNonFinite(writer, (double)v, named);
                }

                writer.WriteEndArray();
                break;
            case TensorElementType.Int8:
                writer.WriteStartArray();
                foreach (var v in tensor.AsSpan<sbyte>()) writer.WriteNumberValue(v);
                writer.WriteEndArray();
                break;
            case TensorElementType.UInt8:
                writer.WriteStartArray();
                foreach (var v in tensor.AsSpan<byte>()) writer.WriteNumberValue(v);
                writer.WriteEndArray();
                break;
            default:
                writer.WriteStartArray();
                foreach (var v in tensor.AsSpan<string>()) writer.WriteStringValue(v);
                writer.WriteEndArray();
                break;
        }
    }
}
