using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using ModelKit.AspNetCore;
using ModelKit.Tensors;

namespace Microsoft.AspNetCore.Builder;

/// <summary>
/// The inference response: a JSON object, or (when any output is asked for as binary) the JSON object followed by
/// those outputs' bytes, with <c>Inference-Header-Content-Length</c> and <c>application/octet-stream</c>.
/// </summary>
internal sealed class OpenInferenceProtocolResponse(string? id, string modelName, string modelVersion, List<(string Name, Tensor Tensor, bool Binary)> outputs) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        // The binary outputs in order; a BYTES tensor is encoded first, any other is written from its own memory.
        var binaries = new List<(Tensor Tensor, byte[]? Strings)>();
        long binaryLength = 0;
        var header = new ArrayBufferWriter<byte>(4096);
        using (var writer = new Utf8JsonWriter(header))
        {
            writer.WriteStartObject();
            if (id is not null) writer.WriteString("id", id);
            writer.WriteString("model_name", modelName);
            writer.WriteString("model_version", modelVersion);
            writer.WriteStartArray("outputs");
            foreach (var (name, tensor, binary) in outputs)
            {
                writer.WriteStartObject();
                writer.WriteString("name", name);
                writer.WriteString("datatype", tensor.ElementType.GetDataTypeName());
                writer.WriteStartArray("shape");
                foreach (var dim in tensor.Shape) writer.WriteNumberValue(dim);
                writer.WriteEndArray();
                if (binary)
                {
                    var strings = tensor.ElementType == TensorElementType.String ? OpenInferenceProtocolCodec.EncodeStrings(tensor) : null;
                    var size = strings?.Length ?? tensor.AsBytes().Length;
                    binaries.Add((tensor, strings));
                    binaryLength += size;
                    writer.WriteStartObject("parameters");
                    writer.WriteNumber("binary_data_size", size);
                    writer.WriteEndObject();
                }
                else
                {
                    writer.WritePropertyName("data");
                    TensorJson.WriteData(writer, tensor, ModelKitJson.Options);
                }

                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status200OK;
        if (binaries.Count == 0)
        {
            response.ContentType = "application/json";
            response.ContentLength = header.WrittenCount;
            await response.Body.WriteAsync(header.WrittenMemory, httpContext.RequestAborted);
            return;
        }

        response.ContentType = "application/octet-stream";
        response.Headers[OpenInferenceProtocolBody.HeaderLengthHeader] = header.WrittenCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.ContentLength = header.WrittenCount + binaryLength;
        var body = response.BodyWriter;
        body.Write(header.WrittenSpan);
        foreach (var (tensor, strings) in binaries) body.Write(strings is null ? tensor.AsBytes() : strings);
        await body.FlushAsync(httpContext.RequestAborted);
    }
}
