using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

/// <summary>
/// An Open Inference Protocol inference body: the JSON object alone, or (binary tensor data extension) the JSON object
/// followed by the inputs' raw bytes, with <c>Inference-Header-Content-Length</c> giving the JSON object's length.
/// Binary data is little-endian and row-major; BOOL is one byte per element; BYTES is a 4-byte little-endian length
/// before each element.
/// </summary>
internal sealed class OpenInferenceProtocolBody : IDisposable
{
    /// <summary>The request and response header that says how many leading bytes of the body are JSON.</summary>
    public const string HeaderLengthHeader = "Inference-Header-Content-Length";

    private readonly PipeReader _reader;
    private readonly ReadOnlySequence<byte> _body;
    private readonly long _headerLength;

    private OpenInferenceProtocolBody(PipeReader reader, ReadOnlySequence<byte> body, long headerLength, JsonDocument header)
    {
        _reader = reader;
        _body = body;
        _headerLength = headerLength;
        Header = header;
    }

    /// <summary>The JSON object (<c>id</c>, <c>inputs</c>, <c>outputs</c>, <c>parameters</c>).</summary>
    public JsonDocument Header { get; }

    /// <summary>The bytes after the JSON object (empty without the binary extension), still in the request's pipe.</summary>
    public ReadOnlySequence<byte> Binary => _body.Slice(_headerLength);

    /// <summary>Reads the whole body into the request's pipe (no copy) and parses the JSON object at its start.</summary>
    public static async Task<OpenInferenceProtocolBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        var limit = ModelKitJson.ApplyBodyLimit(request);
        long? headerLength = null;
        if (request.Headers.TryGetValue(HeaderLengthHeader, out var declared))
        {
            if (!long.TryParse(declared.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed <= 0)
            {
                throw new InvalidInputException($"{HeaderLengthHeader} must be a positive integer (was '{declared}').");
            }

            headerLength = parsed;
        }
        else if (request.ContentType is { } type && !type.Contains("json", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidInputException($"The body must be JSON (Content-Type: application/json), or JSON followed by binary tensor data with an {HeaderLengthHeader} header; Content-Type was '{type}'.");
        }

        var reader = request.BodyReader;
        var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        // Done when the pipe says so, or (sooner, without one more read) once Content-Length bytes are in.
        while (!result.IsCompleted && result.Buffer.Length <= limit && !(result.Buffer.Length >= request.ContentLength))
        {
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End); // keep it all, ask for more
            result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }

        var body = result.Buffer;
        try
        {
            if (body.Length > limit) throw new PayloadTooLargeException($"The body is over {limit} bytes (ModelKit:Http:MaxJsonBodyBytes).");
            if (body.IsEmpty) throw new InvalidInputException("The request body is empty; a JSON object is expected.");
            if (headerLength > body.Length)
            {
                throw new InvalidInputException($"{HeaderLengthHeader} is {headerLength} but the body has only {body.Length} bytes.");
            }

            var jsonLength = headerLength ?? body.Length;
            JsonDocument header;
            try
            {
                header = JsonDocument.Parse(body.Slice(0, jsonLength));
            }
            catch (JsonException ex)
            {
                throw new InvalidInputException($"The inference request is not valid JSON: {ex.Message}");
            }

            if (header.RootElement.ValueKind != JsonValueKind.Object)
            {
                header.Dispose();
                throw new InvalidInputException("The inference request must be a JSON object.");
            }

            return new OpenInferenceProtocolBody(reader, body, jsonLength, header);
        }
        catch
        {
            reader.AdvanceTo(body.End);
            throw;
        }
    }

    /// <summary>The inputs as tensors: each from its JSON <c>data</c> or from its slice of the binary data.</summary>
    public Dictionary<string, Tensor> ReadInputs(ModelSignature? signature)
    {
        var root = Header.RootElement;
        if (!root.TryGetProperty("inputs", out var inputs) || inputs.ValueKind != JsonValueKind.Array || inputs.GetArrayLength() == 0)
        {
            throw new InvalidInputException("'inputs' (a non-empty array) is required.");
        }

        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var binary = Binary;
        var offset = 0L;
        foreach (var input in inputs.EnumerateArray())
        {
            if (input.ValueKind != JsonValueKind.Object || !input.TryGetProperty("name", out var nameElement)
                || nameElement.ValueKind != JsonValueKind.String || nameElement.GetString() is not { Length: > 0 } name)
            {
                throw new InvalidInputException("Every input needs 'name', 'shape', 'datatype' and 'data' (or the binary extension's 'binary_data_size').");
            }

            if (!input.TryGetProperty("shape", out _)) throw new InvalidInputException($"input '{name}': 'shape' is required.");
            if (!input.TryGetProperty("datatype", out _)) throw new InvalidInputException($"input '{name}': 'datatype' is required.");
            if (result.ContainsKey(name)) throw new InvalidInputException($"input '{name}' is given twice.");
            if (BinarySize(input, name) is not { } size)
            {
                result[name] = TensorJson.ReadTensor(name, input, signature?.FindInput(name)?.ElementType);
                continue;
            }

            if (input.TryGetProperty("data", out _)) throw new InvalidInputException($"input '{name}' has both 'data' and 'binary_data_size'; give one.");
            if (offset + size > binary.Length)
            {
                throw new InvalidInputException($"input '{name}': 'binary_data_size' is {size} but only {binary.Length - offset} bytes of binary data are left after the JSON header.");
            }

            var (type, shape) = TensorJson.ReadHeader(name, input, null);
            result[name] = ReadBinary(name, binary.Slice(offset, size), type!.Value, shape!);
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

    public void Dispose()
    {
        Header.Dispose();
        _reader.AdvanceTo(_body.End);
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

    private static Tensor ReadBinary(string name, ReadOnlySequence<byte> bytes, TensorElementType type, long[] shape)
    {
        var count = Tensor.CountElements(shape);
        if (type == TensorElementType.String)
        {
            var strings = new string[count];
            var reader = new SequenceReader<byte>(bytes);
            for (var i = 0; i < count; i++)
            {
                if (!reader.TryReadLittleEndian(out int length)) throw new InvalidInputException($"input '{name}': the BYTES data ends before element {i} of {count}.");
                if (length < 0 || length > reader.Remaining) throw new InvalidInputException($"input '{name}': BYTES element {i} says {(uint)length} bytes but {reader.Remaining} are left.");
                strings[i] = Encoding.UTF8.GetString(reader.UnreadSequence.Slice(0, length));
                reader.Advance(length);
            }

            if (!reader.End) throw new InvalidInputException($"input '{name}': {reader.Remaining} bytes are left after its {count} BYTES elements.");
            return Tensor.Create(strings, shape);
        }

        var elementSize = type.GetElementSize();
        if (bytes.Length != count * elementSize)
        {
            throw new InvalidInputException(
                $"input '{name}': shape {Tensor.FormatShape(shape)} of {type.GetName()} needs {count * elementSize} bytes but 'binary_data_size' is {bytes.Length}.");
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
