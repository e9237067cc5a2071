using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ModelKit.Tensors;

// Reading: one forward pass of Utf8JsonReader over the input's UTF-8 text (plus a counting pass for the nested shape),
// straight into typed arrays. A copy of the reader (a struct) is a saved position.
public static partial class TensorJson
{
    private const int MaxRank = 16;

    private static Dictionary<string, Tensor> ReadInputs(ReadOnlySpan<byte> utf8, ModelSignature? signature)
    {
        var reader = new Utf8JsonReader(utf8);
        if (!reader.Read() || reader.TokenType == JsonTokenType.Null) throw new InvalidInputException("'input_data' is required.");
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (reader.TokenType == JsonTokenType.StartArray)
        {
            if (signature is null || signature.Inputs.Count != 1)
            {
                throw new InvalidInputException(
                    $"'input_data' is an array, which is only allowed for a model with one input; this model has {signature?.Inputs.Count.ToString(CultureInfo.InvariantCulture) ?? "unknown"} inputs: name them.");
            }

            var spec = signature.Inputs[0];
            result[spec.Name] = ReadNested(ref reader, spec.Name, spec.ElementType, declaredShape: null);
            return result;
        }

        if (reader.TokenType != JsonTokenType.StartObject) throw new InvalidInputException("'input_data' must be an object of named inputs or, for a one-input model, an array.");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            var spec = signature?.FindInput(name);
            result[name] = reader.TokenType switch
            {
                JsonTokenType.StartArray => ReadNested(ref reader, name, spec?.ElementType ?? Unknown(name, signature), declaredShape: null),
                JsonTokenType.StartObject => ReadTensorObject(ref reader, name, spec?.ElementType, signature: signature),
                _ => throw new InvalidInputException($"input '{name}' must be an array or an object with 'data' (and optionally 'shape' and 'datatype')."),
            };
        }

        return result;
    }

    // A named tensor object at its StartObject; leaves the reader at its EndObject.
    private static Tensor ReadTensorObject(ref Utf8JsonReader reader, string name, TensorElementType? modelType, bool strictDataType = false, ModelSignature? signature = null)
    {
        var (type, shape) = ReadObjectHeader(ref reader, name, modelType, strictDataType, out var data, out var hasData);
        if (!hasData || data.TokenType != JsonTokenType.StartArray) throw new InvalidInputException($"input '{name}': 'data' (an array) is required.");
        return ReadNested(ref data, name, type ?? Unknown(name, signature), shape);
    }

    // The object's datatype and shape, and the position of its data (if any); the reader ends at the object's EndObject.
    private static (TensorElementType? Type, long[]? Shape) ReadObjectHeader(
        ref Utf8JsonReader reader, string name, TensorElementType? modelType, bool strictDataType, out Utf8JsonReader data, out bool hasData)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new InvalidInputException($"input '{name}' must be an object with 'data' (and optionally 'shape' and 'datatype').");
        var type = modelType;
        long[]? shape = null;
        data = default;
        hasData = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var property = reader.ValueTextEquals("datatype"u8) ? 1 : reader.ValueTextEquals("shape"u8) ? 2 : reader.ValueTextEquals("data"u8) ? 3 : 0;
            reader.Read();
            switch (property)
            {
                case 1 when reader.TokenType != JsonTokenType.Null:
                    type = DataType(ref reader, name, strictDataType);
                    break;
                case 2 when reader.TokenType != JsonTokenType.Null:
                    shape = Shape(ref reader, name);
                    break;
                case 3:
                    data = reader;
                    hasData = true;
                    reader.Skip();
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return (type, shape);
    }

    private static TensorElementType DataType(ref Utf8JsonReader reader, string name, bool strict)
    {
        var text = reader.TokenType == JsonTokenType.String ? reader.GetString()! : null;
        TensorElementType declared = default;
        if (text is null || !(strict ? TensorElementTypes.TryParseDataType(text, out declared) : TensorElementTypes.TryParse(text, out declared)))
        {
            throw new InvalidInputException($"input '{name}': datatype {Describe(ref reader)} is not known; use FP32, FP16, FP64, INT64, INT32, INT8, UINT8, BOOL or BYTES{(strict ? " (upper case, as the protocol names them)" : string.Empty)}.");
        }

        return declared;
    }

    private static long[] Shape(ref Utf8JsonReader reader, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw new InvalidInputException($"input '{name}': 'shape' must be an array of non-negative integers.");
        var dims = new List<long>(4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var d) || d < 0)
            {
                throw new InvalidInputException($"input '{name}': 'shape' must be an array of non-negative integers.");
            }

            if (dims.Count == MaxRank) throw new InvalidInputException($"input '{name}': 'shape' has more than {MaxRank} dimensions.");

            dims.Add(d);
        }

        var shape = dims.ToArray();
        // A tensor lives in one array: its element count must fit one (and must not overflow on the way).
        long count = 1;
        foreach (var d in shape)
        {
            if (d != 0 && count > Array.MaxLength / d)
            {
                throw new InvalidInputException($"input '{name}': shape {Tensor.FormatShape(shape)} holds more than {Array.MaxLength} elements.");
            }

            count *= d;
        }

        return shape;
    }

    // A name the model does not have: the message says what the model takes, so every surface's client can correct it.
    private static TensorElementType Unknown(string name, ModelSignature? signature)
    {
        var takes = signature is null ? string.Empty : "; the model takes tensors: " + string.Join(", ", signature.Inputs.Select(i => $"'{i.Name}' {i.Describe()}"));
        throw new InvalidInputException($"input '{ClientText.Quote(name, 60)}' is not an input of the model, so its datatype cannot be inferred{takes}.");
    }

    // Flattens (possibly nested) data at its StartArray straight into a typed array; the nesting gives the shape unless one
    // is declared. Leaves the reader at the data's EndArray.
    private static Tensor ReadNested(ref Utf8JsonReader reader, string name, TensorElementType type, long[]? declaredShape)
    {
        var nested = NestedShape(reader);
        var count = Tensor.CountElements(nested);
        var shape = declaredShape ?? nested;
        var expected = Tensor.CountElements(shape);
        if (expected != count)
        {
            throw new InvalidInputException($"input '{name}': shape {Tensor.FormatShape(shape)} holds {expected} values but {count} were given.");
        }

        return type switch
        {
            TensorElementType.Float32 => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => Floating(ref r) is { } d ? (float)d : Finite(r.GetSingle())), shape),
            TensorElementType.Float16 => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => Floating(ref r) is { } d ? (Half)d : Finite((Half)Finite(r.GetSingle()))), shape),
            TensorElementType.Float64 => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => Floating(ref r) ?? Finite(r.GetDouble())), shape),
            TensorElementType.Int64 => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => r.GetInt64()), shape),
            TensorElementType.Int32 => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => r.GetInt32()), shape),
            TensorElementType.Int8 => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => r.GetSByte()), shape),
            TensorElementType.UInt8 => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => r.GetByte()), shape),
            TensorElementType.Bool => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => r.GetBoolean()), shape),
            _ => Tensor.Create(Fill(ref reader, name, nested, count, type, static (ref Utf8JsonReader r) => r.TokenType == JsonTokenType.String ? r.GetString()! : throw new InvalidOperationException()), shape),
        };
    }

    // A JSON number beyond the element type's range is the client's mistake, not an infinity (that is spelt "Infinity").
    private static T Finite<T>(T value)
        where T : System.Numerics.IFloatingPointIeee754<T> =>
        T.IsFinite(value) ? value : throw new OverflowException("The number is outside the element type's range.");

    // "NaN", "Infinity" and "-Infinity" as strings (JSON has no literal for them); null for a number.
    private static double? Floating(ref Utf8JsonReader reader) =>
        reader.TokenType != JsonTokenType.String ? null : reader.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var other => throw new FormatException($"\"{other}\" is not a number"),
        };

    // The shape the nesting describes, read down the first elements (counting each array's elements on a copy of the
    // reader); Fill checks every other array against it.
    private static long[] NestedShape(Utf8JsonReader probe)
    {
        Span<long> dims = stackalloc long[MaxRank];
        var rank = 0;
        while (probe.TokenType == JsonTokenType.StartArray)
        {
            if (rank == MaxRank) throw new InvalidInputException($"The data is nested more than {MaxRank} levels deep.");
            var counter = probe;
            var first = probe;
            long length = 0;
            while (counter.Read() && counter.TokenType != JsonTokenType.EndArray)
            {
                if (length++ == 0) first = counter;
                counter.Skip();
            }

            dims[rank++] = length;
            if (length == 0) break;
            probe = first;
        }

        return dims[..rank].ToArray();
    }

    private delegate T ElementReader<T>(ref Utf8JsonReader reader);

    private static T[] Fill<T>(ref Utf8JsonReader reader, string name, long[] shape, long count, TensorElementType type, ElementReader<T> read)
    {
        var values = new T[count];
        var index = 0;
        Walk(ref reader, 0, values, ref index);
        return values;

        void Walk(ref Utf8JsonReader current, int depth, T[] into, ref int at)
        {
            long length = 0;
            while (current.Read() && current.TokenType != JsonTokenType.EndArray)
            {
                if (++length > shape[depth]) break;
                if (depth + 1 < shape.Length)
                {
                    if (current.TokenType != JsonTokenType.StartArray) throw new InvalidInputException($"input '{name}': the nested arrays are ragged at dimension {depth + 1}.");
                    Walk(ref current, depth + 1, into, ref at);
                }
                else
                {
                    if (current.TokenType is JsonTokenType.StartArray or JsonTokenType.StartObject)
                    {
                        throw new InvalidInputException($"input '{name}': the nested arrays are ragged at dimension {depth + 1}.");
                    }

                    try
                    {
                        into[at++] = read(ref current);
                    }
                    catch (OverflowException) when (type is TensorElementType.Float32 or TensorElementType.Float16 or TensorElementType.Float64)
                    {
                        throw new InvalidInputException($"input '{name}': value {at - 1}, {Describe(ref current)}, is outside the range of {type.GetName()} (write \"Infinity\" for an infinity).");
                    }
                    catch (Exception ex) when (ex is FormatException or InvalidOperationException or OverflowException)
                    {
                        throw new InvalidInputException($"input '{name}': every value must be a {type.GetName()}; value {at - 1} is {Describe(ref current)}.");
                    }
                }
            }

            if (length != shape[depth])
            {
                var seen = length > shape[depth] ? "more" : length.ToString(CultureInfo.InvariantCulture);
                throw new InvalidInputException($"input '{name}': the nested arrays are ragged (dimension {depth} has lengths {shape[depth]} and {seen}).");
            }
        }
    }

    // The current token as the client wrote it, at most 40 characters.
    private static string Describe(ref Utf8JsonReader reader)
    {
        string raw = reader.TokenType switch
        {
            JsonTokenType.String => "\"" + Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 160)]) + "\"",
            JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan[..Math.Min(reader.ValueSpan.Length, 160)]),
            JsonTokenType.True => "true",
            JsonTokenType.False => "false",
            JsonTokenType.Null => "null",
            JsonTokenType.StartObject => "an object",
            _ => "an array",
        };
        return ClientText.Quote(raw, 40);
    }
}
