using System.Text.Json;
using System.Text.Json.Serialization;
using ModelKit.Tensors;

namespace ModelKit.Tests.Tensors;

public sealed class TensorPayloadJsonTests
{
    private static readonly JsonSerializerOptions Wire = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static TheoryData<string, Tensor> Tensors() => new()
    {
        { """{"shape":[2,3],"datatype":"FP32","data":[0.1,-2.5,3E+38,1E-07,0,16777216]}""", Tensor.Create([0.1f, -2.5f, 3e38f, 1e-7f, 0f, 16777216f], 2, 3) },
        { """{"shape":[1,2],"datatype":"FP16","data":[0.5,-65504]}""", Tensor.Create([(Half)0.5f, (Half)(-65504f)], 1, 2) },
        { """{"shape":[2],"datatype":"FP64","data":[0.1,-1E+300]}""", Tensor.Create([0.1, -1e300], 2) },
        { """{"shape":[3],"datatype":"INT64","data":[-9223372036854775808,0,9223372036854775807]}""", Tensor.Create([long.MinValue, 0L, long.MaxValue], 3) },
        { """{"shape":[2],"datatype":"INT32","data":[-2147483648,7]}""", Tensor.Create([int.MinValue, 7], 2) },
        { """{"shape":[2],"datatype":"INT8","data":[-128,127]}""", Tensor.Create([(sbyte)-128, (sbyte)127], 2) },
        { """{"shape":[2],"datatype":"UINT8","data":[0,255]}""", Tensor.Create([(byte)0, (byte)255], 2) },
        { """{"shape":[2],"datatype":"BOOL","data":[true,false]}""", Tensor.Create([true, false], 2) },
        { """{"shape":[2],"datatype":"BYTES","data":["a \u0022quoted\u0022 word","\u00E9t\u00E9"]}""", Tensor.Create(["a \"quoted\" word", "été"], 2) },
    };

    [Theory]
    [MemberData(nameof(Tensors))]
    public void Write_EveryElementType_WritesTheWireShapeAndReadsBack(string expected, Tensor tensor)
    {
        var payload = TensorJson.WriteTensor(tensor);
        var json = JsonSerializer.Serialize(payload, Wire);
        Assert.Equal(expected, json);

        var back = JsonSerializer.Deserialize<TensorPayload>(json, Wire)!;
        Assert.Equal(payload.Shape, back.Shape);
        Assert.Equal(payload.Datatype, back.Datatype);
        Assert.Equal(JsonSerializer.Serialize(payload.Data, Wire), JsonSerializer.Serialize(back.Data, Wire));
    }

    [Fact]
    public void Write_NamedOutput_PutsTheNameFirst_AndFollowsTheNamingPolicy()
    {
        var payload = TensorJson.WriteTensor(Tensor.Create([1f], 1), name: "logits");
        Assert.Equal("""{"name":"logits","shape":[1],"datatype":"FP32","data":[1]}""", JsonSerializer.Serialize(payload, Wire));
        Assert.Equal("""{"Name":"logits","Shape":[1],"Datatype":"FP32","Data":[1]}""", JsonSerializer.Serialize(payload));
    }

    [Fact]
    public void Write_NonFiniteValues_AreNamedLiteralsWhereAllowed_AndRefusedOtherwise()
    {
        var payload = TensorJson.WriteTensor(Tensor.Create([float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1f], 4));
        Assert.Equal("""{"shape":[4],"datatype":"FP32","data":["NaN","Infinity","-Infinity",1]}""", JsonSerializer.Serialize(payload, Wire));
        var back = (float[])JsonSerializer.Deserialize<TensorPayload>(JsonSerializer.Serialize(payload, Wire), Wire)!.Data;
        Assert.True(float.IsNaN(back[0]) && float.IsPositiveInfinity(back[1]) && float.IsNegativeInfinity(back[2]));

        var strict = new JsonSerializerOptions(Wire) { NumberHandling = JsonNumberHandling.Strict };
        Assert.Throws<ArgumentException>(() => JsonSerializer.Serialize(payload, strict));
        var doubles = TensorJson.WriteTensor(Tensor.Create([double.NaN], 1));
        Assert.Throws<ArgumentException>(() => JsonSerializer.Serialize(doubles, strict));
    }

    // The writer that answers straight from a tensor's elements writes what the payload serialises to, for every type.
    [Theory]
    [MemberData(nameof(Tensors))]
    public void WriteTensor_ToAWriter_WritesWhatThePayloadSerialisesTo(string expected, Tensor tensor)
    {
        Assert.Equal(expected, Written(tensor, Wire));
        Assert.Equal(JsonSerializer.Serialize(TensorJson.WriteTensor(tensor)), Written(tensor, options: null)); // no naming policy
    }

    // The data alone (a protocol that lays out the other fields itself): what the serializer writes for the payload's data.
    [Theory]
    [MemberData(nameof(Tensors))]
    public void WriteData_WritesWhatThePayloadsDataSerialisesTo(string expected, Tensor tensor)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            TensorJson.WriteData(writer, tensor, Wire);
        }

        var written = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
        Assert.Equal(JsonDocument.Parse(expected).RootElement.GetProperty("data").GetRawText(), written);
        Assert.Equal(JsonSerializer.Serialize(TensorJson.WriteTensor(tensor).Data, Wire), written);
    }

    [Fact]
    public void WriteTensor_ToAWriter_NonFiniteValues_AsThePayload()
    {
        var tensor = Tensor.Create([float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1f], 4);
        Assert.Equal("""{"shape":[4],"datatype":"FP32","data":["NaN","Infinity","-Infinity",1]}""", Written(tensor, Wire));
        Assert.Equal("""{"shape":[1],"datatype":"FP16","data":["-Infinity"]}""", Written(Tensor.Create([Half.NegativeInfinity], 1), Wire));
        var strict = new JsonSerializerOptions(Wire) { NumberHandling = JsonNumberHandling.Strict };
        Assert.Throws<ArgumentException>(() => Written(tensor, strict));
        Assert.Throws<ArgumentException>(() => Written(Tensor.Create([double.NaN], 1), strict));
    }

    private static string Written(Tensor tensor, JsonSerializerOptions? options)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = options?.Encoder }))
        {
            TensorJson.WriteTensor(writer, tensor, options);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void Read_ATensorWithoutData_IsAJsonError()
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TensorPayload>("""{"shape":[1],"datatype":"FP32"}""", Wire));
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<TensorPayload>("[1]", Wire));
    }
}
