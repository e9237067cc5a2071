using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
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

    /// <summary>The inputs as tensors (<see cref="OpenInferenceProtocolCodec.ReadInputs"/>).</summary>
    public Dictionary<string, Tensor> ReadInputs(ModelSignature? signature) => OpenInferenceProtocolCodec.ReadInputs(Header.RootElement, Binary, signature);

    public void Dispose()
    {
        Header.Dispose();
        _reader.AdvanceTo(_body.End);
    }
}
