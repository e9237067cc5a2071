using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>The Open Inference Protocol (KServe v2) surface through HTTP, in the shapes Triton and KServe clients send.</summary>
public sealed class OpenInferenceProtocolTests(SampleServerFactory factory) : IClassFixture<SampleServerFactory>
{
    private static readonly float[] Row = Enumerable.Range(0, 64).Select(i => MathF.Cos(i * 0.2f)).ToArray();

    [Fact]
    public async Task HealthMetadataReadyAndInfer_FollowTheProtocol()
    {
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        var anonymous = factory.CreateClient();
        anonymous.DefaultRequestHeaders.Remove("X-API-Key");
        Assert.True((await anonymous.GetFromJsonAsync<JsonElement>("/v2/health/live")).GetProperty("live").GetBoolean());
        Assert.True((await anonymous.GetFromJsonAsync<JsonElement>("/v2/health/ready")).GetProperty("ready").GetBoolean());
        Assert.Equal("modelkit", (await client.GetFromJsonAsync<JsonElement>("/v2")).GetProperty("name").GetString());

        var metadata = await client.GetFromJsonAsync<JsonElement>("/v2/models/demo-mlp");
        Assert.Equal(("demo-mlp", "onnxruntime_onnx"), (metadata.GetProperty("name").GetString(), metadata.GetProperty("platform").GetString()));
        var input = metadata.GetProperty("inputs")[0];
        Assert.Equal(("x", "FP32"), (input.GetProperty("name").GetString(), input.GetProperty("datatype").GetString()));
        Assert.Equal([-1, 64], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/models/demo-mlp/versions/1/ready")).StatusCode);

        var expected = (await factory.Services.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = "demo-mlp",
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row, 1, 64) },
        })).Outputs["logits"].ToArray<float>();
        var request = $$"""{"id": "req-42", "inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": {{JsonSerializer.Serialize(Row)}}}], "outputs": [{"name": "logits"}]}""";
        var response = await client.PostAsync("/v2/models/demo-mlp/versions/1/infer", Json(request));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(("req-42", "demo-mlp", "1"), (result.GetProperty("id").GetString(), result.GetProperty("model_name").GetString(), result.GetProperty("model_version").GetString()));
        var output = result.GetProperty("outputs")[0];
        Assert.Equal(("logits", "FP32"), (output.GetProperty("name").GetString(), output.GetProperty("datatype").GetString()));
        var data = output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], data[i], 5);
    }

    [Fact]
    public async Task Errors_AreErrorObjectsWithTheRightStatus()
    {
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        async Task<string> ErrorAsync(HttpResponseMessage response, HttpStatusCode status)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}: {text}");
            return JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!;
        }

        Assert.Contains("ghost", await ErrorAsync(await client.GetAsync("/v2/models/ghost"), HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Contains("ghost", await ErrorAsync(await client.PostAsync("/v2/models/ghost/infer", Json("""{"inputs": [{"name": "x", "shape": [1, 1], "datatype": "FP32", "data": [1]}]}""")), HttpStatusCode.NotFound), StringComparison.Ordinal);
        Assert.Contains("'inputs'", await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json("""{"inputs": []}""")), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("'datatype' is required", await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json("""{"inputs": [{"name": "x", "shape": [1, 2], "data": [1, 2]}]}""")), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        // Datatype names are the protocol's, case-sensitive: "fp32" and ModelKit's own "float32" are not among them.
        foreach (var datatype in new[] { "fp32", "float32", "Fp32" })
        {
            var error = await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json($$"""{"inputs": [{"name": "x", "shape": [1, 64], "datatype": "{{datatype}}", "data": {{JsonSerializer.Serialize(Row)}}}]}""")), HttpStatusCode.BadRequest);
            Assert.Contains($"datatype \"{datatype}\" is not known", error, StringComparison.Ordinal);
        }

        Assert.Contains("expects float32[?,64], got float32[1,2]", await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json("""{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}""")), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        var zeros = JsonSerializer.Serialize(new float[64]);
        Assert.Contains("output 'probabilities'", await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer",
            Json($$"""{"inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": {{zeros}}}], "outputs": [{"name": "probabilities"}]}""")), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json("{oops")), HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BinaryExtension_EveryElementTypeRoundTripsAsRawBytes()
    {
        var client = factory.CreateClient();
        await RegisterTypedModelAsync("typed-binary");
        Half[] h = [(Half)0.5f, (Half)(-1.25f), (Half)3f, (Half)7.5f, (Half)0f, (Half)(-0.125f)];
        string[] s = ["héllo", "", "wörld ✓", "x"];
        bool[] b = [true, false, false, true];
        byte[] u = [0, 1, 200, 255];
        int[] i = [int.MinValue, -1, 0, int.MaxValue];
        long[] l = [long.MinValue, -5, 1L << 40, long.MaxValue];
        (string Name, string Type, byte[] Bytes)[] inputs =
        [
            ("h", "FP16", MemoryMarshal.AsBytes(h.AsSpan()).ToArray()), ("s", "BYTES", EncodeStrings(s)), ("b", "BOOL", b.Select(x => x ? (byte)7 : (byte)0).ToArray()) /* any non-zero byte is true */,
            ("u", "UINT8", u), ("i", "INT32", MemoryMarshal.AsBytes(i.AsSpan()).ToArray()), ("l", "INT64", MemoryMarshal.AsBytes(l.AsSpan()).ToArray()),
        ];
        var header = new
        {
            id = "bin-1",
            inputs = inputs.Select(x => new { name = x.Name, shape = x.Name == "h" ? new[] { 2, 3 } : [2, 2], datatype = x.Type, parameters = new { binary_data_size = x.Bytes.Length } }),
            parameters = new { binary_data_output = true },
        };

        var response = await client.PostAsync("/v2/models/typed-binary/infer", Binary(JsonSerializer.SerializeToUtf8Bytes(header), [.. inputs.Select(x => x.Bytes)]));
        var (json, outputs) = await ReadBinaryAsync(response);
        Assert.Equal("bin-1", json.GetProperty("id").GetString());
        Assert.Equal(h.Select(x => (float)x), MemoryMarshal.Cast<byte, float>(outputs["h_float"]).ToArray());
        Assert.Equal(h.Select(x => (Half)((float)x * 2)), MemoryMarshal.Cast<byte, Half>(outputs["h_twice"]).ToArray());
        Assert.Equal(s, DecodeStrings(outputs["s_out"]));
        Assert.Equal(b.Select(x => x ? (byte)0 : (byte)1), outputs["b_not"]);
        Assert.Equal(u, outputs["u_out"]);
        Assert.Equal(i, MemoryMarshal.Cast<byte, int>(outputs["i_out"]).ToArray());
        Assert.Equal(l, MemoryMarshal.Cast<byte, long>(outputs["l_out"]).ToArray());
        var sOut = json.GetProperty("outputs").EnumerateArray().Single(o => o.GetProperty("name").GetString() == "s_out");
        Assert.Equal(("BYTES", "[2,2]"), (sOut.GetProperty("datatype").GetString(), sOut.GetProperty("shape").GetRawText()));
        Assert.False(sOut.TryGetProperty("data", out _));
    }

    [Fact]
    public async Task BinaryExtension_MixesWithJsonPerTensorAndRejectsBadSizes()
    {
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        var expected = (await factory.Services.GetRequiredService<IInferenceService>().InferAsync(new InferenceRequest
        {
            ModelId = "demo-mlp",
            Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(Row, 1, 64) },
        })).Outputs["logits"].ToArray<float>();

        // JSON in, the one output asked for as binary.
        var request = $$$"""{"inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": {{{JsonSerializer.Serialize(Row)}}}}], "outputs": [{"name": "logits", "parameters": {"binary_data": true}}]}""";
        var (_, outputs) = await ReadBinaryAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json(request)));
        Assert.Equal(expected, MemoryMarshal.Cast<byte, float>(outputs["logits"]).ToArray());

        // Binary in, JSON out (no binary output asked for): a plain JSON response.
        var header = JsonSerializer.SerializeToUtf8Bytes(new { inputs = new[] { new { name = "x", shape = new[] { 1, 64 }, datatype = "FP32", parameters = new { binary_data_size = 256 } } } });
        var response = await client.PostAsync("/v2/models/demo-mlp/infer", Binary(header, MemoryMarshal.AsBytes(Row.AsSpan()).ToArray()));
        var json = await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(expected, json.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()));

        async Task<string> ErrorAsync(HttpContent content)
        {
            var failed = await client.PostAsync("/v2/models/demo-mlp/infer", content);
            return (await ExpectAsync(failed, HttpStatusCode.BadRequest)).GetProperty("error").GetString()!;
        }

        var row = MemoryMarshal.AsBytes(Row.AsSpan()).ToArray();
        Assert.Contains("needs 256 bytes but 'binary_data_size' is 200", await ErrorAsync(Binary(Header(200), row[..200])), StringComparison.Ordinal);
        Assert.Contains("only 100 bytes of binary data are left", await ErrorAsync(Binary(Header(256), row[..100])), StringComparison.Ordinal);
        Assert.Contains("'binary_data_size' add up to 256", await ErrorAsync(Binary(Header(256), [.. row, 1, 2, 3])), StringComparison.Ordinal);
        var huge = JsonSerializer.SerializeToUtf8Bytes(new { inputs = new[] { new { name = "x", shape = new[] { 1L << 40, 1L << 40 }, datatype = "FP32", parameters = new { binary_data_size = 256 } } } });
        Assert.Contains("holds more than", await ErrorAsync(Binary(huge, row)), StringComparison.Ordinal);
        var tooLong = Binary(Header(256), row);
        tooLong.Headers.Remove("Inference-Header-Content-Length");
        tooLong.Headers.Add("Inference-Header-Content-Length", "999999");
        Assert.Contains("the body has only", await ErrorAsync(tooLong), StringComparison.Ordinal);
        var notJson = new ByteArrayContent(row);
        notJson.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        Assert.Contains("Inference-Header-Content-Length", await ErrorAsync(notJson), StringComparison.Ordinal);

        // The server keeps serving.
        Assert.Equal(expected, MemoryMarshal.Cast<byte, float>((await ReadBinaryAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json(request)))).Outputs["logits"]).ToArray());

        static byte[] Header(int size) =>
            JsonSerializer.SerializeToUtf8Bytes(new { inputs = new[] { new { name = "x", shape = new[] { 1, 64 }, datatype = "FP32", parameters = new { binary_data_size = size } } } });
    }

    private async Task RegisterTypedModelAsync(string id)
    {
        using var stream = new MemoryStream(DemoModels.CreateTypedIo());
        await factory.Services.GetRequiredService<IModelRegistry>().RegisterAsync(new ModelDefinition { Id = id, Name = "Every element type" }, stream, "typed.onnx");
    }

    private static ByteArrayContent Binary(byte[] header, params byte[][] tensors)
    {
        var content = new ByteArrayContent([.. header, .. tensors.SelectMany(t => t)]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return content;
    }

    // The JSON header and each binary output's bytes, split as the response's header length and binary_data_size say.
    private static async Task<(JsonElement Json, Dictionary<string, byte[]> Outputs)> ReadBinaryAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.IsSuccessStatusCode, Encoding.UTF8.GetString(body));
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType?.MediaType);
        var headerLength = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var json = JsonDocument.Parse(body.AsMemory(0, headerLength)).RootElement;
        var outputs = new Dictionary<string, byte[]>();
        var offset = headerLength;
        foreach (var output in json.GetProperty("outputs").EnumerateArray())
        {
            var size = output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32();
            outputs[output.GetProperty("name").GetString()!] = body[offset..(offset + size)];
            offset += size;
        }

        Assert.Equal(body.Length, offset);
        return (json, outputs);
    }

    private static byte[] EncodeStrings(string[] values) =>
        [.. values.SelectMany(v =>
        {
            var bytes = Encoding.UTF8.GetBytes(v);
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(length, (uint)bytes.Length);
            return length.Concat(bytes);
        })];

    private static List<string> DecodeStrings(byte[] bytes)
    {
        var values = new List<string>();
        for (var at = 0; at < bytes.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
            values.Add(Encoding.UTF8.GetString(bytes, at + 4, length));
            at += 4 + length;
        }

        return values;
    }
}
