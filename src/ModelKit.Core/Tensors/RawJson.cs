using System.Text.Json;

namespace ModelKit.Tensors;

/// <summary>
/// One JSON value kept as its UTF-8 text, unparsed: a request's <c>input_data</c> is held this way until the model's
/// signature is known, then read once straight into typed tensors (<see cref="TensorJson.ReadInputs(RawJson?, ModelSignature?)"/>),
/// so that a large input never becomes a document of nodes.
/// </summary>
public sealed class RawJson
{
    /// <summary>Wraps <paramref name="utf8"/>, which must hold exactly one JSON value.</summary>
    public RawJson(ReadOnlyMemory<byte> utf8)
    {
        Utf8 = utf8;
        var reader = new Utf8JsonReader(utf8.Span);
        if (!reader.Read()) throw new ArgumentException("The text holds no JSON value.", nameof(utf8));
        ValueKind = reader.TokenType switch
        {
            JsonTokenType.StartObject => JsonValueKind.Object,
            JsonTokenType.StartArray => JsonValueKind.Array,
            JsonTokenType.String => JsonValueKind.String,
            JsonTokenType.Number => JsonValueKind.Number,
            JsonTokenType.True => JsonValueKind.True,
            JsonTokenType.False => JsonValueKind.False,
            _ => JsonValueKind.Null,
        };
    }

    /// <summary>The value's UTF-8 JSON text.</summary>
    public ReadOnlyMemory<byte> Utf8 { get; }

    /// <summary>The kind of the value (from its first token).</summary>
    public JsonValueKind ValueKind { get; }

    /// <inheritdoc/>
    public override string ToString() => System.Text.Encoding.UTF8.GetString(Utf8.Span);
}
