using System.Globalization;
using System.Text.Json;

namespace ModelKit.Tensors;

/// <summary>
/// How JSON becomes tensors and back. <c>input_data</c> takes three forms:
/// <list type="bullet">
/// <item>named tensors: <c>{"x": {"shape": [1, 64], "datatype": "FP32", "data": [ … ]}}</c> (<c>data</c> flat or nested;
/// <c>datatype</c> optional, the model's when left out; <c>shape</c> optional for nested data);</item>
/// <item>named nested arrays: <c>{"x": [[0.1, 0.2, …]]}</c> (shape from the nesting, element type from the model);</item>
/// <item>for a model with one input, the nested array alone: <c>[[0.1, 0.2, …]]</c>.</item>
/// </list>
/// Outputs are always named tensors with <c>shape</c>, <c>datatype</c> (Open Inference Protocol names) and flat <c>data</c>
/// (<see cref="TensorPayload"/>).
/// </summary>
public static class TensorJson
{
    /// <summary>Reads <paramref name="inputData"/> against the model's inputs; INVALID_INPUT says what does not fit.</summary>
    public static Dictionary<string, Tensor> ReadInputs(JsonElement? inputData, ModelSignature? signature)
    {
        if (inputData is not { } input || input.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            throw new InvalidInputException("'input_data' is required.");
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (input.ValueKind == JsonValueKind.Array)
        {
            if (signature is null || signature.Inputs.Count != 1)
            {
                throw new InvalidInputException(
                    $"'input_data' is an array, which is only allowed for a model with one input; this model has {signature?.Inputs.Count.ToString(CultureInfo.InvariantCulture) ?? "unknown"} inputs: name them.");
            }

            var spec = signature.Inputs[0];
            result[spec.Name] = ReadTensor(spec.Name, input, spec.ElementType, declaredShape: null);
            return result;
        }

        if (input.ValueKind != JsonValueKind.Object) throw new InvalidInputException("'input_data' must be an object of named inputs or, for a one-input model, an array.");
        foreach (var property in input.EnumerateObject())
        {
            var name = property.Name;
            var node = property.Value;
            var spec = signature?.FindInput(name);
            switch (node.ValueKind)
            {
                case JsonValueKind.Array:
                    result[name] = ReadTensor(name, node, spec?.ElementType ?? Unknown(name), declaredShape: null);
                    break;
                case JsonValueKind.Object:
                    result[name] = ReadTensor(name, node, spec?.ElementType);
                    break;
                default:
                    throw new InvalidInputException($"input '{name}' must be an array or an object with 'data' (and optionally 'shape' and 'datatype').");
            }
        }

        return result;
    }

    /// <summary>A named tensor object, <c>{"shape", "datatype", "data"}</c>; <paramref name="modelType"/> when it has no datatype.</summary>
    internal static Tensor ReadTensor(string name, JsonElement tensor, TensorElementType? modelType, bool strictDataType = false)
    {
        var (type, shape) = ReadHeader(name, tensor, modelType, strictDataType);
        if (!tensor.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidInputException($"input '{name}': 'data' (an array) is required.");
        }

        return ReadTensor(name, data, type ?? Unknown(name), shape);
    }

    /// <summary>
    /// An input's declared <c>datatype</c> (else <paramref name="modelType"/>) and <c>shape</c> (else null). With
    /// <paramref name="strictDataType"/> only the Open Inference Protocol's names, case-sensitive, are accepted;
    /// otherwise also ModelKit's names and aliases in any case (<c>float32</c>, <c>float</c>, <c>fp32</c> …).
    /// </summary>
    internal static (TensorElementType? Type, long[]? Shape) ReadHeader(string name, JsonElement tensor, TensorElementType? modelType, bool strictDataType = false)
    {
        var type = modelType;
        if (tensor.TryGetProperty("datatype", out var datatype) && datatype.ValueKind != JsonValueKind.Null)
        {
            var text = datatype.ValueKind == JsonValueKind.String ? datatype.GetString()! : null;
            TensorElementType declared = default;
            if (text is null || !(strictDataType ? TensorElementTypes.TryParseDataType(text, out declared) : TensorElementTypes.TryParse(text, out declared)))
            {
                var shown = datatype.GetRawText();
                if (shown.Length > 40) shown = shown[..40] + "…";
                throw new InvalidInputException($"input '{name}': datatype {shown} is not known; use FP32, FP16, FP64, INT64, INT32, INT8, UINT8, BOOL or BYTES{(strictDataType ? " (upper case, as the protocol names them)" : string.Empty)}.");
            }

            type = declared;
        }

        long[]? shape = null;
        if (tensor.TryGetProperty("shape", out var dims) && dims.ValueKind != JsonValueKind.Null)
        {
            if (dims.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"input '{name}': 'shape' must be an array of non-negative integers.");
            shape = new long[dims.GetArrayLength()];
            var i = 0;
            foreach (var dim in dims.EnumerateArray())
            {
                if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out var d) || d < 0)
                {
                    throw new InvalidInputException($"input '{name}': 'shape' must be an array of non-negative integers.");
                }

                shape[i++] = d;
            }

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
        }

        return (type, shape);
    }

    private static TensorElementType Unknown(string name) =>
        throw new InvalidInputException($"input '{name}' is not an input of the model, so its datatype cannot be inferred.");

    /// <summary>
    /// Outputs as named tensors: <c>{"name": {"shape": […], "datatype": "FP32", "data": […]}}</c>. The data arrays are the
    /// tensors' own elements, serialised directly (no per-element JSON nodes).
    /// </summary>
    public static Dictionary<string, TensorPayload> WriteOutputs(IReadOnlyDictionary<string, Tensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        var result = new Dictionary<string, TensorPayload>(outputs.Count, StringComparer.Ordinal);
        foreach (var (name, tensor) in outputs) result[name] = WriteTensor(tensor);
        return result;
    }

    /// <summary>One tensor as <c>{"shape", "datatype", "data"}</c>.</summary>
    public static TensorPayload WriteTensor(Tensor tensor, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        return new TensorPayload
        {
            Name = name,
            Shape = tensor.Shape.ToArray(),
            Datatype = tensor.ElementType.GetDataTypeName(),
            Data = tensor.ElementType switch
            {
                TensorElementType.Float32 => tensor.ToArray<float>(),
                TensorElementType.Float16 => tensor.ToArray<Half>().Select(h => (float)h).ToArray(),
                TensorElementType.Float64 => tensor.ToArray<double>(),
                TensorElementType.Int64 => tensor.ToArray<long>(),
                TensorElementType.Int32 => tensor.ToArray<int>(),
                TensorElementType.Int8 => tensor.ToArray<sbyte>().Select(v => (int)v).ToArray(),
                TensorElementType.UInt8 => tensor.ToArray<byte>().Select(v => (int)v).ToArray(),
                TensorElementType.Bool => tensor.ToArray<bool>(),
                _ => tensor.ToArray<string>(),
            },
        };
    }


    // Flattens (possibly nested) data straight into a typed array; the nesting gives the shape unless one is declared.
    private static Tensor ReadTensor(string name, JsonElement data, TensorElementType type, long[]? declaredShape)
    {
        var nested = NestedShape(data);
        var count = Tensor.CountElements(nested);
        var shape = declaredShape ?? nested;
        var expected = Tensor.CountElements(shape);
        if (expected != count)
        {
            throw new InvalidInputException($"input '{name}': shape {Tensor.FormatShape(shape)} holds {expected} values but {count} were given.");
        }

        return type switch
        {
            TensorElementType.Float32 => Tensor.Create(Fill(name, data, nested, count, type, static e => Floating(e) is { } d ? (float)d : Finite(e.GetSingle())), shape),
            TensorElementType.Float16 => Tensor.Create(Fill(name, data, nested, count, type, static e => Floating(e) is { } d ? (Half)d : Finite((Half)Finite(e.GetSingle()))), shape),
            TensorElementType.Float64 => Tensor.Create(Fill(name, data, nested, count, type, static e => Floating(e) ?? Finite(e.GetDouble())), shape),
            TensorElementType.Int64 => Tensor.Create(Fill(name, data, nested, count, type, static e => e.GetInt64()), shape),
            TensorElementType.Int32 => Tensor.Create(Fill(name, data, nested, count, type, static e => e.GetInt32()), shape),
            TensorElementType.Int8 => Tensor.Create(Fill(name, data, nested, count, type, static e => e.GetSByte()), shape),
            TensorElementType.UInt8 => Tensor.Create(Fill(name, data, nested, count, type, static e => e.GetByte()), shape),
            TensorElementType.Bool => Tensor.Create(Fill(name, data, nested, count, type, static e => e.GetBoolean()), shape),
            _ => Tensor.Create(Fill(name, data, nested, count, type, static e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new InvalidOperationException()), shape),
        };
    }

    // A JSON number beyond the element type's range is the client's mistake, not an infinity (that is spelt "Infinity").
    private static T Finite<T>(T value)
        where T : System.Numerics.IFloatingPointIeee754<T> =>
        T.IsFinite(value) ? value : throw new OverflowException("The number is outside the element type's range.");

    // "NaN", "Infinity" and "-Infinity" as strings (JSON has no literal for them); null for a number.
    private static double? Floating(JsonElement element) =>
        element.ValueKind != JsonValueKind.String ? null : element.GetString() switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var other => throw new FormatException($"\"{other}\" is not a number"),
        };

    // The shape the nesting describes, read down the first elements; Fill checks every other array against it.
    private static long[] NestedShape(JsonElement array)
    {
        Span<long> dims = stackalloc long[16];
        var rank = 0;
        var probe = array;
        while (probe.ValueKind == JsonValueKind.Array)
        {
            if (rank == dims.Length) throw new InvalidInputException("The data is nested more than 16 levels deep.");
            var length = probe.GetArrayLength();
            dims[rank++] = length;
            if (length == 0) break;
            probe = probe[0];
        }

        return dims[..rank].ToArray();
    }

    private static T[] Fill<T>(string name, JsonElement data, long[] shape, long count, TensorElementType type, Func<JsonElement, T> read)
    {
        var values = new T[count];
        var index = 0;
        Walk(data, 0);
        return values;

        void Walk(JsonElement current, int depth)
        {
            var length = current.GetArrayLength();
            if (length != shape[depth])
            {
                throw new InvalidInputException($"input '{name}': the nested arrays are ragged (dimension {depth} has lengths {shape[depth]} and {length}).");
            }

            foreach (var item in current.EnumerateArray())
            {
                if (depth + 1 < shape.Length)
                {
                    if (item.ValueKind != JsonValueKind.Array) throw new InvalidInputException($"input '{name}': the nested arrays are ragged at dimension {depth + 1}.");
                    Walk(item, depth + 1);
                }
                else
                {
                    if (item.ValueKind == JsonValueKind.Array) throw new InvalidInputException($"input '{name}': the nested arrays are ragged at dimension {depth + 1}.");
                    try
                    {
                        values[index++] = read(item);
                    }
                    catch (OverflowException) when (type is TensorElementType.Float32 or TensorElementType.Float16 or TensorElementType.Float64)
                    {
                        throw new InvalidInputException($"input '{name}': value {index - 1}, {Describe(item)}, is outside the range of {type.GetName()} (write \"Infinity\" for an infinity).");
                    }
                    catch (Exception ex) when (ex is FormatException or InvalidOperationException or OverflowException)
                    {
                        throw new InvalidInputException($"input '{name}': every value must be a {type.GetName()}; value {index - 1} is {Describe(item)}.");
                    }
                }
            }
        }
    }

    private static string Describe(JsonElement element)
    {
        var raw = element.GetRawText();
        return raw.Length <= 40 ? raw : raw[..40] + "…";
    }
}
