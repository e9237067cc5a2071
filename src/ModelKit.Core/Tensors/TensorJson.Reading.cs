using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace ModelKit.Tensors;

// Reading: one forward pass of Utf8JsonReader over the input's UTF-8 text, straight into typed arrays sized from the
// text's length (ReadNested). A copy of the reader (a struct) is a saved position.
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
            result[spec.Name] = ReadNested(ref reader, spec.Name, spec.ElementType, declaredShape: null, utf8.Length - reader.TokenStartIndex);
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
                JsonTokenType.StartArray => ReadNested(ref reader, name, spec?.ElementType ?? Unknown(name, signature), declaredShape: null, utf8.Length - reader.TokenStartIndex),
                JsonTokenType.StartObject => ReadTensorObject(ref reader, name, spec?.ElementType, signature: signature),
                _ => throw new InvalidInputException($"input '{name}' must be an array or an object with 'data' (and optionally 'shape' and 'datatype')."),
            };
        }

        return result;
    }

    // A named tensor object at its StartObject; leaves the reader at its EndObject.
    private static Tensor ReadTensorObject(ref Utf8JsonReader reader, string name, TensorElementType? modelType, bool strictDataType = false, ModelSignature? signature = null)
    {
        var (type, shape) = ReadObjectHeader(ref reader, name, modelType, strictDataType, out var data, out var hasData, out var dataBytes);
        if (!hasData || data.TokenType != JsonTokenType.StartArray) throw new InvalidInputException($"input '{name}': 'data' (an array) is required.");
        return ReadNested(ref data, name, type ?? Unknown(name, signature), shape, dataBytes);
    }

    // The object's datatype and shape, and the position of its data (if any); the reader ends at the object's EndObject.
    private static (TensorElementType? Type, long[]? Shape) ReadObjectHeader(
        ref Utf8JsonReader reader, string name, TensorElementType? modelType, bool strictDataType, out Utf8JsonReader data, out bool hasData, out long dataBytes)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new InvalidInputException($"input '{name}' must be an object with 'data' (and optionally 'shape' and 'datatype').");
        var type = modelType;
        long[]? shape = null;
        data = default;
        hasData = false;
        dataBytes = 0;
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
                    dataBytes = reader.BytesConsumed - data.TokenStartIndex;
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

    // Flattens (possibly nested) data at its StartArray straight into a typed array, in one pass: the nesting gives the shape
    // unless one is declared. `available` bounds the data's length in bytes (what is left of the text from its '['), and so
    // the values it can hold: each takes at least 2 bytes with its separator. Data of up to SmallDataBytes is read into a
    // pooled buffer of that bound and copied out at its count (one allocation, of the tensor's own size); longer data is
    // counted first, so that a large input is allocated once at its size and a declared shape that is larger than what was
    // sent costs nothing. Leaves the reader at the data's EndArray.
    private static Tensor ReadNested(ref Utf8JsonReader reader, string name, TensorElementType type, long[]? declaredShape, long available) => type switch
    {
        TensorElementType.Float32 => ReadNested<float, Float32Reader>(ref reader, name, type, declaredShape, available),
        TensorElementType.Float16 => ReadNested<Half, Float16Reader>(ref reader, name, type, declaredShape, available),
        TensorElementType.Float64 => ReadNested<double, Float64Reader>(ref reader, name, type, declaredShape, available),
        TensorElementType.Int64 => ReadNested<long, Int64Reader>(ref reader, name, type, declaredShape, available),
        TensorElementType.Int32 => ReadNested<int, Int32Reader>(ref reader, name, type, declaredShape, available),
        TensorElementType.Int8 => ReadNested<sbyte, Int8Reader>(ref reader, name, type, declaredShape, available),
        TensorElementType.UInt8 => ReadNested<byte, UInt8Reader>(ref reader, name, type, declaredShape, available),
        TensorElementType.Bool => ReadNested<bool, BoolReader>(ref reader, name, type, declaredShape, available),
        _ => ReadNested<string, StringReader>(ref reader, name, type, declaredShape, available),
    };

    private const int SmallDataBytes = 16 << 10;

    private static Tensor ReadNested<T, TReader>(ref Utf8JsonReader reader, string name, TensorElementType type, long[]? declaredShape, long available)
        where TReader : struct, IElementReader<T>
    {
        var nesting = new Nesting(name, type);
        nesting.Dims[..].Fill(-1);
        long capacity = (available + 1) / 2;
        if (available > SmallDataBytes)
        {
            capacity = CountValues(reader);
            if (declaredShape is not null && Tensor.CountElements(declaredShape) != capacity) throw CountMismatch(name, declaredShape, capacity);
        }

        if (declaredShape is not null) capacity = Math.Min(capacity, Tensor.CountElements(declaredShape));
        var pooled = available <= SmallDataBytes ? ArrayPool<T>.Shared.Rent((int)Math.Max(capacity, 1)) : null;
        var values = pooled ?? new T[Math.Clamp(capacity, 1, Array.MaxLength)];
        var count = 0;
        try
        {
            Walk<T, TReader>(ref reader, ref nesting, 0, ref values, ref count);
            var nested = nesting.Dims[..nesting.Rank].ToArray();
            var shape = declaredShape ?? nested;
            var expected = Tensor.CountElements(shape);
            if (expected != count) throw CountMismatch(name, shape, count);

            // (Walk replaces a buffer it outgrows; a pooled one is only ever copied from.)
            if (ReferenceEquals(values, pooled)) values = values.AsSpan(0, count).ToArray();
            else if (values.Length != count) Array.Resize(ref values, count);
            return Tensor.Create(values, shape);
        }
        finally
        {
            if (pooled is not null) ArrayPool<T>.Shared.Return(pooled, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        }
    }

    // The values (not arrays) in the array at the reader's StartArray, at any depth, read on a copy of the reader.
    private static long CountValues(Utf8JsonReader probe)
    {
        var depth = probe.CurrentDepth;
        long values = 0;
        while (probe.Read() && probe.CurrentDepth > depth)
        {
            if (probe.TokenType is not (JsonTokenType.StartArray or JsonTokenType.EndArray or JsonTokenType.StartObject or JsonTokenType.EndObject or JsonTokenType.PropertyName)) values++;
        }

        return values;
    }

    // The nesting met so far: each depth's length is that of the first array completed there (-1 until then), and every
    // other array at that depth must match it; the rank is the depth of the first value.
    private struct Nesting(string name, TensorElementType type)
    {
        public readonly string Name = name;
        public readonly TensorElementType Type = type;
        public Dims16 Dims;
        public int Rank;
    }

    [System.Runtime.CompilerServices.InlineArray(MaxRank)]
    private struct Dims16
    {
        private long _element;
    }

    private static void Walk<T, TReader>(ref Utf8JsonReader reader, ref Nesting nesting, int depth, ref T[] values, ref int count)
        where TReader : struct, IElementReader<T>
    {
        long length = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (++length > nesting.Dims[depth] && nesting.Dims[depth] >= 0)
            {
                throw new InvalidInputException($"input '{nesting.Name}': the nested arrays are ragged (dimension {depth} has lengths {nesting.Dims[depth]} and more).");
            }

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                if (nesting.Rank != 0 && depth + 1 >= nesting.Rank) throw Ragged(nesting.Name, depth + 1);
                if (depth + 1 == MaxRank) throw new InvalidInputException($"The data is nested more than {MaxRank} levels deep.");
                Walk<T, TReader>(ref reader, ref nesting, depth + 1, ref values, ref count);
                continue;
            }

            if (reader.TokenType == JsonTokenType.StartObject || (nesting.Rank != 0 && nesting.Rank != depth + 1)) throw Ragged(nesting.Name, depth + 1);
            nesting.Rank = depth + 1;
            if (count == values.Length) Array.Resize(ref values, count >= Array.MaxLength / 2 ? Array.MaxLength : count * 2);
            try
            {
                values[count] = TReader.Read(ref reader);
            }
            catch (OverflowException) when (nesting.Type is TensorElementType.Float32 or TensorElementType.Float16 or TensorElementType.Float64)
            {
                throw new InvalidInputException($"input '{nesting.Name}': value {count}, {Describe(ref reader)}, is outside the range of {nesting.Type.GetName()} (write \"Infinity\" for an infinity).");
            }
            catch (Exception ex) when (ex is FormatException or InvalidOperationException or OverflowException)
            {
                throw new InvalidInputException($"input '{nesting.Name}': every value must be a {nesting.Type.GetName()}; value {count} is {Describe(ref reader)}.");
            }

            count++;
        }

        if (nesting.Rank == 0) nesting.Rank = depth + 1; // an empty innermost array
        if (nesting.Dims[depth] < 0) nesting.Dims[depth] = length;
        else if (length != nesting.Dims[depth])
        {
            throw new InvalidInputException($"input '{nesting.Name}': the nested arrays are ragged (dimension {depth} has lengths {nesting.Dims[depth]} and {length}).");
        }
    }

    private static InvalidInputException CountMismatch(string name, long[] shape, long given) =>
        new($"input '{name}': shape {Tensor.FormatShape(shape)} holds {Tensor.CountElements(shape)} values but {given} were given.");

    private static InvalidInputException Ragged(string name, int dimension) =>
        new($"input '{name}': the nested arrays are ragged at dimension {dimension}.");

    // One element at the reader's token, as the element type (a struct per type, so that each walk is compiled for its own).
    private interface IElementReader<T>
    {
        static abstract T Read(ref Utf8JsonReader reader);
    }

    private readonly struct Float32Reader : IElementReader<float>
    {
        public static float Read(ref Utf8JsonReader reader) => Floating(ref reader) is { } d ? (float)d : Finite(reader.GetSingle());
    }

    private readonly struct Float16Reader : IElementReader<Half>
    {
        public static Half Read(ref Utf8JsonReader reader) => Floating(ref reader) is { } d ? (Half)d : Finite((Half)Finite(reader.GetSingle()));
    }

    private readonly struct Float64Reader : IElementReader<double>
    {
        public static double Read(ref Utf8JsonReader reader) => Floating(ref reader) ?? Finite(reader.GetDouble());
    }

    private readonly struct Int64Reader : IElementReader<long>
    {
        public static long Read(ref Utf8JsonReader reader) => reader.GetInt64();
    }

    private readonly struct Int32Reader : IElementReader<int>
    {
        public static int Read(ref Utf8JsonReader reader) => reader.GetInt32();
    }

    private readonly struct Int8Reader : IElementReader<sbyte>
    {
        public static sbyte Read(ref Utf8JsonReader reader) => reader.GetSByte();
    }

    private readonly struct UInt8Reader : IElementReader<byte>
    {
        public static byte Read(ref Utf8JsonReader reader) => reader.GetByte();
    }

    private readonly struct BoolReader : IElementReader<bool>
    {
        public static bool Read(ref Utf8JsonReader reader) => reader.GetBoolean();
    }

    private readonly struct StringReader : IElementReader<string>
    {
        public static string Read(ref Utf8JsonReader reader) => reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new InvalidOperationException();
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
