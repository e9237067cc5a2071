using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

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
    public static Dictionary<string, Tensor> ReadInputs(JsonNode? inputData, ModelSignature? signature)
    {
        if (inputData is null) throw new InvalidInputException("'input_data' is required.");
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        if (inputData is JsonArray single)
        {
            if (signature is null || signature.Inputs.Count != 1)
            {
                throw new InvalidInputException(
                    $"'input_data' is an array, which is only allowed for a model with one input; this model has {signature?.Inputs.Count.ToString(CultureInfo.InvariantCulture) ?? "unknown"} inputs: name them.");
            }

            var spec = signature.Inputs[0];
            result[spec.Name] = ReadTensor(spec.Name, single, spec.ElementType, declaredShape: null);
            return result;
        }

        if (inputData is not JsonObject named) throw new InvalidInputException("'input_data' must be an object of named inputs or, for a one-input model, an array.");
        foreach (var (name, node) in named)
        {
            var spec = signature?.FindInput(name);
            switch (node)
            {
                case JsonArray array:
                    result[name] = ReadTensor(name, array, spec?.ElementType ?? Default(name), declaredShape: null);
                    break;
                case JsonObject tensor:
                    var type = spec?.ElementType;
                    if (tensor["datatype"] is { } datatype)
                    {
                        if (!TensorElementTypes.TryParse(datatype.GetValue<string>(), out var declared))
                        {
                            throw new InvalidInputException($"input '{name}': datatype '{datatype}' is not known; use FP32, FP16, FP64, INT64, INT32, INT8, UINT8, BOOL or BYTES.");
                        }

                        type = declared;
                    }

                    var shape = tensor["shape"] is JsonArray dims ? ReadShape(name, dims) : null;
                    if (tensor["data"] is not JsonArray data) throw new InvalidInputException($"input '{name}': 'data' (an array) is required.");
                    result[name] = ReadTensor(name, data, type ?? Default(name), shape);
                    break;
                default:
                    throw new InvalidInputException($"input '{name}' must be an array or an object with 'data' (and optionally 'shape' and 'datatype').");
            }
        }

        return result;

        static TensorElementType Default(string name) =>
            throw new InvalidInputException($"input '{name}' is not an input of the model, so its datatype cannot be inferred.");
    }

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
            Datatype = DataType(tensor.ElementType),
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

    /// <summary>The Open Inference Protocol name of an element type (FP32, INT64, BYTES …).</summary>
    public static string DataType(TensorElementType type) => type switch
    {
        TensorElementType.Float32 => "FP32",
        TensorElementType.Float16 => "FP16",
        TensorElementType.Float64 => "FP64",
        TensorElementType.Int64 => "INT64",
        TensorElementType.Int32 => "INT32",
        TensorElementType.Int8 => "INT8",
        TensorElementType.UInt8 => "UINT8",
        TensorElementType.Bool => "BOOL",
        _ => "BYTES",
    };

    private static long[] ReadShape(string name, JsonArray dims)
    {
        var shape = new long[dims.Count];
        for (var i = 0; i < shape.Length; i++)
        {
            if (dims[i] is not JsonValue v || !v.TryGetValue<long>(out var d) || d < 0)
            {
                throw new InvalidInputException($"input '{name}': 'shape' must be an array of non-negative integers.");
            }

            shape[i] = d;
        }

        return shape;
    }

    // Flattens (possibly nested) data; the nesting gives the shape unless one is declared.
    private static Tensor ReadTensor(string name, JsonArray data, TensorElementType type, long[]? declaredShape)
    {
        var values = new List<JsonNode?>();
        var nested = NestedShape(name, data, values);
        var shape = declaredShape ?? nested;
        var count = Tensor.CountElements(shape);
        if (count != values.Count)
        {
            throw new InvalidInputException($"input '{name}': shape {Tensor.FormatShape(shape)} holds {count} values but {values.Count} were given.");
        }

        try
        {
            return type switch
            {
                TensorElementType.Float32 => Tensor.Create(values.Select(v => Number(v).GetValue<float>()).ToArray(), shape),
                TensorElementType.Float16 => Tensor.Create(values.Select(v => (Half)Number(v).GetValue<float>()).ToArray(), shape),
                TensorElementType.Float64 => Tensor.Create(values.Select(v => Number(v).GetValue<double>()).ToArray(), shape),
                TensorElementType.Int64 => Tensor.Create(values.Select(v => Number(v).GetValue<long>()).ToArray(), shape),
                TensorElementType.Int32 => Tensor.Create(values.Select(v => Number(v).GetValue<int>()).ToArray(), shape),
                TensorElementType.Int8 => Tensor.Create(values.Select(v => Number(v).GetValue<sbyte>()).ToArray(), shape),
                TensorElementType.UInt8 => Tensor.Create(values.Select(v => Number(v).GetValue<byte>()).ToArray(), shape),
                TensorElementType.Bool => Tensor.Create(values.Select(v => Number(v).GetValue<bool>()).ToArray(), shape),
                _ => Tensor.Create(values.Select(v => Number(v).GetValue<string>()).ToArray(), shape),
            };
        }
        catch (Exception ex) when (ex is FormatException or InvalidOperationException or OverflowException)
        {
            throw new InvalidInputException($"input '{name}': every value must be a {type.GetName()} ({ex.Message})");
        }
    }

    private static JsonNode Number(JsonNode? node) => node ?? throw new FormatException("null is not a value");

    private static long[] NestedShape(string name, JsonArray array, List<JsonNode?> values)
    {
        var dims = new List<long>();
        JsonNode? probe = array;
        while (probe is JsonArray a)
        {
            dims.Add(a.Count);
            probe = a.Count > 0 ? a[0] : null;
        }

        var shape = dims.ToArray();
        Flatten(array, 0);
        return shape;

        void Flatten(JsonArray current, int depth)
        {
            if (current.Count != shape[depth]) throw new InvalidInputException($"input '{name}': the nested arrays are ragged (dimension {depth} has lengths {shape[depth]} and {current.Count}).");
            foreach (var item in current)
            {
                if (depth + 1 < shape.Length)
                {
                    if (item is not JsonArray inner) throw new InvalidInputException($"input '{name}': the nested arrays are ragged at dimension {depth + 1}.");
                    Flatten(inner, depth + 1);
                }
                else
                {
                    if (item is JsonArray) throw new InvalidInputException($"input '{name}': the nested arrays are ragged at dimension {depth + 1}.");
                    values.Add(item);
                }
            }
        }
    }
}

/// <summary>A tensor on the wire: name (Open Inference Protocol outputs only), shape, datatype and flat row-major data.</summary>
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
