using System.Text.Json;
using System.Text.Json.Serialization;

namespace ModelKit.Tensors;

/// <summary>
/// Writes a <see cref="TensorPayload"/> straight from its typed array with <see cref="Utf8JsonWriter"/>: the serializer's
/// own path looks the runtime type of <c>Array Data</c> up and boxes through a polymorphic converter on every response.
/// Names follow the options' naming policy; NaN and ±Infinity are written as "NaN", "Infinity" and "-Infinity" where the
/// options allow named floating-point literals, and refused otherwise, as the serializer does.
/// </summary>
internal sealed class TensorPayloadJsonConverter : JsonConverter<TensorPayload>
{
    private static readonly JsonEncodedText NaN = JsonEncodedText.Encode("NaN");
    private static readonly JsonEncodedText PositiveInfinity = JsonEncodedText.Encode("Infinity");
    private static readonly JsonEncodedText NegativeInfinity = JsonEncodedText.Encode("-Infinity");
    private static Names? s_names; // the names under the last naming policy seen (one policy per app in practice)

    internal sealed record Names(JsonNamingPolicy? Policy, JsonEncodedText Name, JsonEncodedText Shape, JsonEncodedText Datatype, JsonEncodedText Data)
    {
        public static Names For(JsonNamingPolicy? policy)
        {
            if (s_names is { } cached && ReferenceEquals(cached.Policy, policy)) return cached;
            JsonEncodedText Encode(string name) => JsonEncodedText.Encode(policy?.ConvertName(name) ?? name);
            return s_names = new Names(policy, Encode(nameof(TensorPayload.Name)), Encode(nameof(TensorPayload.Shape)), Encode(nameof(TensorPayload.Datatype)), Encode(nameof(TensorPayload.Data)));
        }
    }

    public override void Write(Utf8JsonWriter writer, TensorPayload value, JsonSerializerOptions options)
    {
        var names = Names.For(options.PropertyNamingPolicy);
        var named = (options.NumberHandling & JsonNumberHandling.AllowNamedFloatingPointLiterals) != 0;
        writer.WriteStartObject();
        if (value.Name is { } name) writer.WriteString(names.Name, name);
        writer.WriteStartArray(names.Shape);
        foreach (var d in value.Shape) writer.WriteNumberValue(d);
        writer.WriteEndArray();
        writer.WriteString(names.Datatype, value.Datatype);
        writer.WritePropertyName(names.Data);
        switch (value.Data)
        {
            case float[] floats:
                WriteValues(writer, floats, named);
                break;
            case double[] doubles:
                WriteValues(writer, doubles, named);
                break;
            case long[] longs:
                WriteValues(writer, longs);
                break;
            case int[] ints:
                WriteValues(writer, ints);
                break;
            case bool[] bools:
                WriteValues(writer, bools);
                break;
            default:
                JsonSerializer.Serialize(writer, value.Data, value.Data.GetType(), options);
                break;
        }

        writer.WriteEndObject();
    }

    // The data arrays, element by element (TensorJson.WriteTensor writes a tensor's own elements with these too).
    internal static void WriteValues(Utf8JsonWriter writer, ReadOnlySpan<float> values, bool named)
    {
        writer.WriteStartArray();
        foreach (var v in values)
        {
            if (float.IsFinite(v)) writer.WriteNumberValue(v);
            else WriteNonFinite(writer, v, named);
        }

        writer.WriteEndArray();
    }

    internal static void WriteValues(Utf8JsonWriter writer, ReadOnlySpan<double> values, bool named)
    {
        writer.WriteStartArray();
        foreach (var v in values)
        {
            if (double.IsFinite(v)) writer.WriteNumberValue(v);
            else WriteNonFinite(writer, v, named);
        }

        writer.WriteEndArray();
    }

    internal static void WriteValues(Utf8JsonWriter writer, ReadOnlySpan<long> values)
    {
        writer.WriteStartArray();
        foreach (var v in values) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }

    internal static void WriteValues(Utf8JsonWriter writer, ReadOnlySpan<int> values)
    {
        writer.WriteStartArray();
        foreach (var v in values) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }

    internal static void WriteValues(Utf8JsonWriter writer, ReadOnlySpan<bool> values)
    {
        writer.WriteStartArray();
        foreach (var v in values) writer.WriteBooleanValue(v);
        writer.WriteEndArray();
    }

    internal static void WriteNonFinite(Utf8JsonWriter writer, double value, bool named)
    {
        if (!named) throw new ArgumentException($"{value} is not a JSON number; allow named floating-point literals to write it.", nameof(value));
        writer.WriteStringValue(double.IsNaN(value) ? NaN : value > 0 ? PositiveInfinity : NegativeInfinity);
    }

    // Reading (a client of ModelKit's own types): the data's element type follows the datatype.
    public override TensorPayload Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw new JsonException("A tensor is a JSON object with shape, datatype and data.");
        var names = Names.For(options.PropertyNamingPolicy);
        JsonElement Property(JsonEncodedText key, bool required)
        {
            foreach (var p in root.EnumerateObject())
            {
                if (options.PropertyNameCaseInsensitive ? string.Equals(p.Name, key.Value, StringComparison.OrdinalIgnoreCase) : p.Name == key.Value) return p.Value;
            }

            return required ? throw new JsonException($"A tensor needs '{key.Value}'.") : default;
        }

        var datatype = Property(names.Datatype, required: true).GetString() ?? throw new JsonException("'datatype' is null.");
        var data = Property(names.Data, required: true);
        var type = TensorElementTypes.TryParseDataType(datatype, out var parsed) ? parsed : TensorElementType.String;
        var arrayType = type switch
        {
            TensorElementType.Float32 or TensorElementType.Float16 => typeof(float[]),
            TensorElementType.Float64 => typeof(double[]),
            TensorElementType.Int64 => typeof(long[]),
            TensorElementType.Int32 or TensorElementType.Int8 or TensorElementType.UInt8 => typeof(int[]),
            TensorElementType.Bool => typeof(bool[]),
            _ => typeof(string[]),
        };
        var nameElement = Property(names.Name, required: false);
        return new TensorPayload
        {
            Name = nameElement.ValueKind == JsonValueKind.String ? nameElement.GetString() : null,
            Shape = Property(names.Shape, required: true).Deserialize<long[]>(options) ?? throw new JsonException("'shape' is null."),
            Datatype = datatype,
            Data = (Array?)data.Deserialize(arrayType, options) ?? throw new JsonException("'data' is null."),
        };
    }
}
