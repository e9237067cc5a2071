using System.Buffers;
using System.Text;
using Google.Protobuf;
using ModelKit.Grpc.Inference;
using ModelKit.Tensors;

namespace ModelKit.Grpc;

/// <summary>
/// The Open Inference Protocol's gRPC tensors as ModelKit's <see cref="Tensor"/>s and back: typed contents (the field
/// that matches the datatype) or raw contents (<see cref="OpenInferenceProtocolCodec.ReadRaw"/>, the same decoding as
/// REST's binary extension). Datatype names are the protocol's, case-sensitive.
/// </summary>
internal static class GrpcTensors
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The request's inputs by name; INVALID_INPUT names what does not fit.</summary>
    public static Dictionary<string, Tensor> ReadInputs(ModelInferRequest request)
    {
        if (request.Inputs.Count == 0) throw new InvalidInputException("'inputs' is empty: give at least one input tensor.");
        var raw = request.RawInputContents;
        if (raw.Count != 0 && raw.Count != request.Inputs.Count)
        {
            throw new InvalidInputException(
                $"raw_input_contents has {raw.Count} entries but there are {request.Inputs.Count} inputs: give one entry per input, in the order of 'inputs', or none.");
        }

        var inputs = new Dictionary<string, Tensor>(request.Inputs.Count, StringComparer.Ordinal);
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            var name = input.Name;
            if (string.IsNullOrEmpty(name)) throw new InvalidInputException($"inputs[{i}] has no name.");
            if (inputs.ContainsKey(name)) throw new InvalidInputException($"input '{Short(name)}' is given twice.");
            if (!TensorElementTypes.TryParseDataType(input.Datatype, out var type))
            {
                throw new InvalidInputException(
                    $"input '{Short(name)}': datatype '{Short(input.Datatype)}' is not one ModelKit runs; use FP32, FP16, FP64, INT64, INT32, INT8, UINT8, BOOL or BYTES (case-sensitive).");
            }

            var shape = input.Shape.ToArray();
            _ = OpenInferenceProtocolCodec.CountOf(Short(name), shape); // negative or too large: INVALID_ARGUMENT before anything is read

            if (raw.Count != 0)
            {
                if (HasContents(input.Contents))
                {
                    throw new InvalidInputException($"input '{Short(name)}' has typed contents and the request has raw_input_contents: use one or the other for all inputs.");
                }

                inputs[name] = OpenInferenceProtocolCodec.ReadRaw(name, new ReadOnlySequence<byte>(raw[i].Memory), type, shape);
            }
            else
            {
                inputs[name] = ReadTyped(name, input.Contents, type, shape);
            }
        }

        return inputs;
    }

    /// <summary>The output as raw bytes (one copy of the tensor's memory; BYTES length-prefixed).</summary>
    public static ByteString RawOf(Tensor tensor) => tensor.ElementType == TensorElementType.String
        ? UnsafeByteOperations.UnsafeWrap(OpenInferenceProtocolCodec.EncodeStrings(tensor))
        : ByteString.CopyFrom(tensor.AsBytes());

    /// <summary>The output as typed contents; FP16 has no typed field (callers send raw then).</summary>
    public static InferTensorContents TypedOf(Tensor tensor)
    {
        var contents = new InferTensorContents();
        switch (tensor.ElementType)
        {
            case TensorElementType.Float32: contents.Fp32Contents.AddRange(tensor.ToArray<float>()); break;
            case TensorElementType.Float64: contents.Fp64Contents.AddRange(tensor.ToArray<double>()); break;
            case TensorElementType.Int64: contents.Int64Contents.AddRange(tensor.ToArray<long>()); break;
            case TensorElementType.Int32: contents.IntContents.AddRange(tensor.ToArray<int>()); break;
            case TensorElementType.Int8: foreach (var v in tensor.AsSpan<sbyte>()) contents.IntContents.Add(v); break;
            case TensorElementType.UInt8: foreach (var v in tensor.AsSpan<byte>()) contents.UintContents.Add(v); break;
            case TensorElementType.Bool: contents.BoolContents.AddRange(tensor.ToArray<bool>()); break;
            case TensorElementType.String: foreach (var v in tensor.AsSpan<string>()) contents.BytesContents.Add(ByteString.CopyFromUtf8(v)); break;
            default: throw new InvalidOperationException($"A {tensor.ElementType.GetName()} tensor has no typed contents; send it raw.");
        }

        return contents;
    }

    private static bool HasContents(InferTensorContents? contents) => contents is not null && ElementsIn(contents) > 0;

    // Every typed field's elements together (a request fills at most the one its datatype names).
    private static int ElementsIn(InferTensorContents contents) =>
        contents.BoolContents.Count + contents.IntContents.Count + contents.Int64Contents.Count + contents.UintContents.Count
        + contents.Uint64Contents.Count + contents.Fp32Contents.Count + contents.Fp64Contents.Count + contents.BytesContents.Count;

    private static Tensor ReadTyped(string name, InferTensorContents? contents, TensorElementType type, long[] shape)
    {
        contents ??= new InferTensorContents();
        var count = OpenInferenceProtocolCodec.CountOf(Short(name), shape);
        var (field, given) = type switch
        {
            TensorElementType.Float32 => ("fp32_contents", contents.Fp32Contents.Count),
            TensorElementType.Float64 => ("fp64_contents", contents.Fp64Contents.Count),
            TensorElementType.Int64 => ("int64_contents", contents.Int64Contents.Count),
            TensorElementType.Int32 or TensorElementType.Int8 => ("int_contents", contents.IntContents.Count),
            TensorElementType.UInt8 => ("uint_contents", contents.UintContents.Count),
            TensorElementType.Bool => ("bool_contents", contents.BoolContents.Count),
            TensorElementType.String => ("bytes_contents", contents.BytesContents.Count),
            _ => throw new InvalidInputException($"input '{Short(name)}': {type.GetDataTypeName()} has no typed contents field; send it in raw_input_contents."),
        };
        if (ElementsIn(contents) != given)
        {
            throw new InvalidInputException($"input '{Short(name)}' is {type.GetDataTypeName()}: its elements go in contents.{field}, and other contents fields must be empty.");
        }

        if (given != count)
        {
            throw new InvalidInputException(
                $"input '{Short(name)}': shape {Tensor.FormatShape(shape)} has {count} elements but contents.{field} has {given}.");
        }

        switch (type)
        {
            case TensorElementType.Float32: return Tensor.Create(contents.Fp32Contents.ToArray(), shape);
            case TensorElementType.Float64: return Tensor.Create(contents.Fp64Contents.ToArray(), shape);
            case TensorElementType.Int64: return Tensor.Create(contents.Int64Contents.ToArray(), shape);
            case TensorElementType.Int32: return Tensor.Create(contents.IntContents.ToArray(), shape);
            case TensorElementType.Bool: return Tensor.Create(contents.BoolContents.ToArray(), shape);
            case TensorElementType.Int8:
            {
                var values = new sbyte[count];
                for (var i = 0; i < values.Length; i++)
                {
                    var v = contents.IntContents[i];
                    values[i] = v is >= sbyte.MinValue and <= sbyte.MaxValue ? (sbyte)v : throw new InvalidInputException($"input '{Short(name)}': element {i} ({v}) is outside INT8's range −128..127.");
                }

                return Tensor.Create(values, shape);
            }

            case TensorElementType.UInt8:
            {
                var values = new byte[count];
                for (var i = 0; i < values.Length; i++)
                {
                    var v = contents.UintContents[i];
                    values[i] = v <= byte.MaxValue ? (byte)v : throw new InvalidInputException($"input '{Short(name)}': element {i} ({v}) is outside UINT8's range 0..255.");
                }

                return Tensor.Create(values, shape);
            }

            default:
            {
                var values = new string[count];
                for (var i = 0; i < values.Length; i++)
                {
                    try
                    {
                        values[i] = StrictUtf8.GetString(contents.BytesContents[i].Span);
                    }
                    catch (DecoderFallbackException)
                    {
                        throw new InvalidInputException($"input '{Short(name)}': BYTES element {i} is not valid UTF-8 text.");
                    }
                }

                return Tensor.Create(values, shape);
            }
        }
    }

    private static string Short(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
