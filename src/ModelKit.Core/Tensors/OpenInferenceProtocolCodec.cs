using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace ModelKit.Tensors;

/// <summary>
/// The Open Inference Protocol (KServe v2) tensor encoding, shared by its REST and gRPC surfaces: inputs from a request's
/// JSON object and, with the binary tensor data extension, from the raw bytes after it (little-endian, row-major; BOOL
/// one byte per element, any non-zero byte true; BYTES a 4-byte little-endian length before each element). Datatype
/// names (<c>FP32</c>, <c>INT64</c>, <c>BYTES</c> …) are case-sensitive, as the protocol defines them.
/// </summary>
public static class OpenInferenceProtocolCodec
{
    /// <summary>
    /// The inputs of a request (<paramref name="root"/>, its JSON object) as tensors: each from its JSON <c>data</c> or from
    /// its slice of <paramref name="binary"/> (the bytes after the JSON object; empty without the binary extension).
    /// Datatypes are the protocol's names, case-sensitive. INVALID_INPUT says what does not fit.
    /// </summary>
    public static Dictionary<string, Tensor> ReadInputs(JsonElement root, ReadOnlySequence<byte> binary, ModelSignature? signature)
    {
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array || inputs.GetArrayLength() == 0)
        {
            throw new InvalidInputException("'inputs' (a non-empty array) is required.");
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var offset = 0L;
        foreach (var input in inputs.EnumerateArray())
        {
            if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("name", out var nameElement)
                || nameElement.ValueKind != JsonValueKind.String || nameElement.GetString() is not { Length: > 0 } name)
            {
                throw new InvalidInputException("Every input needs 'name', 'shape', 'datatype' and 'data' (or the binary extension's 'binary_data_size').");
            }

            if (!input.TryGetProperty("shape", out _)) throw new InvalidInputException($"input '{name}': 'shape' is required.");
            if (!input.TryGetProperty("datatype", out var datatype) || datatype.ValueKind != JsonValueKind.String)
            {
                throw new InvalidInputException($"input '{name}': 'datatype' is required (a string such as \"FP32\").");
            }
            if (result.ContainsKey(name)) throw new InvalidInputException($"input '{name}' is given twice.");
            if (BinarySize(input, name) is not { } size)
            {
                result[name] = TensorJson.ReadTensor(name, input, signature?.FindInput(name)?.ElementType, strictDataType: true);
                continue;
            }

            if (input.TryGetProperty("data", out _)) throw new InvalidInputException($"input '{name}' has both 'data' and 'binary_data_size'; give one.");
            if (offset + size > binary.Length)
            {
                throw new InvalidInputException($"input '{name}': 'binary_data_size' is {size} but only {binary.Length - offset} bytes of binary data are left after the JSON header.");
            }

            var (type, shape) = TensorJson.ReadHeader(name, input, null, strictDataType: true);
            result[name] = ReadRaw(name, binary.Slice(offset, size), type!.Value, shape!, "'binary_data_size' is");
            offset += size;
        }

        if (offset != binary.Length)
        {
            throw new InvalidInputException($"The body has {binary.Length} bytes of binary data after the JSON header but the inputs' 'binary_data_size' add up to {offset}.");
        }

        return result;
    }

    /// <summary>Whether the request asks for <paramref name="output"/> as binary (its own <c>binary_data</c>, else the request's <c>binary_data_output</c>).</summary>
    public static bool WantsBinary(JsonElement root, JsonElement? output)
    {
        if (output is { } o && o.TryGetProperty("parameters", out var own) && own.ValueKind == JsonValueKind.Object
            && own.TryGetProperty("binary_data", out var flag) && flag.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return flag.ValueKind == JsonValueKind.True;
        }

        return root.TryGetProperty("parameters", out var parameters) && parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("binary_data_output", out var all) && all.ValueKind == JsonValueKind.True;
    }

    /// <summary>
    /// The element count of an input's shape; INVALID_INPUT when it is negative somewhere or more than a tensor can hold
    /// (a shape is the client's word, and a large one must not reach an allocation).
    /// </summary>
    public static long CountOf(string name, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count;
        try
        {
            count = Tensor.CountElements(shape);
        }
        catch (OverflowException)
        {
            count = long.MaxValue;
        }
        catch (ArgumentException)
        {
            throw new InvalidInputException($"input '{name}': shape {Tensor.FormatShape(shape)} has a negative dimension.");
        }

        return count <= Array.MaxLength
            ? count
            : throw new InvalidInputException($"input '{name}': shape {Tensor.FormatShape(shape)} has more elements than one tensor can hold ({Array.MaxLength}).");
    }

    /// <summary>
    /// A BYTES tensor in the binary extension's encoding (a 4-byte little-endian length before each string). Every
    /// other type is sent as its own memory, <see cref="Tensor.AsBytes"/>.
    /// </summary>
    public static byte[] EncodeStrings(Tensor tensor)
    {
        var strings = tensor.AsSpan<string>();
        var total = 0;
        foreach (var s in strings) total += 4 + Encoding.UTF8.GetByteCount(s);
        var bytes = new byte[total];
        var at = 0;
        foreach (var s in strings)
        {
            var written = Encoding.UTF8.GetBytes(s, bytes.AsSpan(at + 4));
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), (uint)written);
            at += 4 + written;
        }

        return bytes;
    }

    private static long? BinarySize(JsonElement input, string name)
    {
        if (!input.TryGetProperty("parameters", out var parameters) || parameters.ValueKind != JsonValueKind.Object
            || !parameters.TryGetProperty("binary_data_size", out var size))
        {
            return null;
        }

        return size.ValueKind == JsonValueKind.Number && size.TryGetInt64(out var bytes) && bytes >= 0
            ? bytes
            : throw new InvalidInputException($"input '{name}': 'binary_data_size' must be a non-negative integer.");
    }

    // BYTES elements become .NET strings: bytes that are not UTF-8 are refused rather than silently replaced.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// One input from its raw bytes (the binary extension's slice, or a gRPC request's <c>raw_input_contents</c> entry):
    /// little-endian elements, row-major; BOOL one byte each (any non-zero byte true); BYTES a 4-byte little-endian length
    /// before each element's UTF-8 bytes. INVALID_INPUT when the byte count does not fit the shape or a string is not UTF-8.
    /// </summary>
    public static Tensor ReadRaw(string name, ReadOnlySequence<byte> bytes, TensorElementType type, long[] shape) =>
        ReadRaw(name, bytes, type, shape, "got");

    private static Tensor ReadRaw(string name, ReadOnlySequence<byte> bytes, TensorElementType type, long[] shape, string gotWhat)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        var count = CountOf(name, shape);
        if (type == TensorElementType.String)
        {
            // Every element carries a 4-byte length: a shape the bytes cannot fill is refused before anything is allocated.
            if (count > bytes.Length / 4)
            {
                throw new InvalidInputException($"input '{name}': shape {Tensor.FormatShape(shape)} has {count} BYTES elements but {bytes.Length} bytes cannot hold them (4 bytes of length each, at least).");
            }

            var strings = new string[count];
            var reader = new SequenceReader<byte>(bytes);
            for (var i = 0; i < count; i++)
            {
                if (!reader.TryReadLittleEndian(out int length)) throw new InvalidInputException($"input '{name}': the BYTES data ends before element {i} of {count}.");
                if (length < 0 || length > reader.Remaining) throw new InvalidInputException($"input '{name}': BYTES element {i} says {(uint)length} bytes but {reader.Remaining} are left.");
                try
                {
                    strings[i] = StrictUtf8.GetString(reader.UnreadSequence.Slice(0, length));
                }
                catch (DecoderFallbackException)
                {
                    throw new InvalidInputException($"input '{name}': BYTES element {i} is not valid UTF-8 text (the same text in JSON would be refused too).");
                }

                reader.Advance(length);
            }

            if (!reader.End) throw new InvalidInputException($"input '{name}': {reader.Remaining} bytes are left after its {count} BYTES elements.");
            return Tensor.Create(strings, shape);
        }

        var elementSize = type.GetElementSize();
        if (bytes.Length != count * elementSize) // count ≤ Array.MaxLength and elementSize ≤ 8: no overflow
        {
            throw new InvalidInputException(
                $"input '{name}': shape {Tensor.FormatShape(shape)} of {type.GetName()} needs {count * elementSize} bytes but {gotWhat} {bytes.Length}.");
        }

        var tensor = Tensor.Allocate(type, shape);
        var raw = tensor.AsBytes();
        bytes.CopyTo(raw);
        if (type == TensorElementType.Bool)
        {
            for (var i = 0; i < raw.Length; i++) raw[i] = raw[i] == 0 ? (byte)0 : (byte)1; // any non-zero byte is true
        }

        return tensor;
    }
}
