using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using ModelKit.Tensors;

namespace ModelKit.AspNetCore;

/// <summary>
/// Reads a JSON value into <see cref="RawJson"/> as a copy of its UTF-8 text: while <see cref="ModelKitJson"/> parses a
/// request body (<see cref="Source"/> set), the value's bytes are sliced from the body and copied once; otherwise the
/// value goes through a pooled document first. Writes the text back verbatim.
/// </summary>
internal sealed class RawJsonConverter : JsonConverter<RawJson>
{
    /// <summary>The UTF-8 body the reader on this thread reads, when it reads one from its first byte.</summary>
    [ThreadStatic]
    internal static ReadOnlySequence<byte>? Source;

    public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (Source is { } source && reader.TokenStartIndex < source.Length)
        {
            var start = reader.TokenStartIndex;
            var first = source.Slice(start, 1).FirstSpan[0];
            if (first == (reader.TokenType switch { JsonTokenType.StartArray => (byte)'[', JsonTokenType.StartObject => (byte)'{', _ => first }))
            {
                reader.Skip();
                return new RawJson(source.Slice(start, reader.BytesConsumed - start).ToArray());
            }
        }

        using var document = JsonDocument.ParseValue(ref reader);
        return new RawJson(JsonMarshal.GetRawUtf8Value(document.RootElement).ToArray());
    }

    public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) => writer.WriteRawValue(value.Utf8.Span, skipInputValidation: true);
}
