using System.Globalization;
using System.Runtime.InteropServices;
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
public static partial class TensorJson
{
    /// <summary>Reads <paramref name="inputData"/> against the model's inputs; INVALID_INPUT says what does not fit.</summary>
    public static Dictionary<string, Tensor> ReadInputs(JsonElement? inputData, ModelSignature? signature)
    {
        if (inputData is not { } input || input.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            throw new InvalidInputException("'input_data' is required.");
        }

        return ReadInputs(JsonMarshal.GetRawUtf8Value(input), signature);
    }

    /// <summary>
    /// Reads <c>input_data</c> given as its UTF-8 JSON text (see <see cref="RawJson"/>) against the model's inputs, in one
    /// pass straight into typed tensors: no document of the whole input is built. INVALID_INPUT says what does not fit.
    /// </summary>
    public static Dictionary<string, Tensor> ReadInputs(RawJson? inputData, ModelSignature? signature)
    {
        if (inputData is null || inputData.ValueKind == JsonValueKind.Null) throw new InvalidInputException("'input_data' is required.");
        return ReadInputs(inputData.Utf8.Span, signature);
    }

    /// <summary>A named tensor object, <c>{"shape", "datatype", "data"}</c>; <paramref name="modelType"/> when it has no datatype.</summary>
    internal static Tensor ReadTensor(string name, JsonElement tensor, TensorElementType? modelType, bool strictDataType = false)
    {
        var reader = new Utf8JsonReader(JsonMarshal.GetRawUtf8Value(tensor));
        reader.Read();
        return ReadTensorObject(ref reader, name, modelType, strictDataType);
    }

    /// <summary>
    /// An input's declared <c>datatype</c> (else <paramref name="modelType"/>) and <c>shape</c> (else null). With
    /// <paramref name="strictDataType"/> only the Open Inference Protocol's names, case-sensitive, are accepted;
    /// otherwise also ModelKit's names and aliases in any case (<c>float32</c>, <c>float</c>, <c>fp32</c> …).
    /// </summary>
    internal static (TensorElementType? Type, long[]? Shape) ReadHeader(string name, JsonElement tensor, TensorElementType? modelType, bool strictDataType = false)
    {
        var reader = new Utf8JsonReader(JsonMarshal.GetRawUtf8Value(tensor));
        reader.Read();
        return ReadObjectHeader(ref reader, name, modelType, strictDataType, out _, out _, out _);
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
}
