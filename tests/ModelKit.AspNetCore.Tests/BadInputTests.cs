using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>
/// Bad input found by probing the sample server: each answers a 4xx in the surface's error shape with a code, never a
/// 5xx, quotes at most a short piece of the input, shows no server or native source path, and the server stays up.
/// </summary>
public sealed class BadInputTests(SampleServerFactory factory) : IClassFixture<SampleServerFactory>
{
    private static readonly string Row = JsonSerializer.Serialize(new[] { Enumerable.Range(0, 64).Select(i => i / 64.0).ToArray() });

    private static ByteArrayContent Bytes(byte[] body, string type = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    // Sequences for demo-bert (vocabulary 1000, 512 positions, 2 token types): each row of its own length.
    private static StringContent Bert(long[] ids, long[]? types = null, int? maskLength = null) => Json(JsonSerializer.Serialize(new
    {
        input_data = new Dictionary<string, object>
        {
            ["input_ids"] = new[] { ids },
            ["attention_mask"] = new[] { Enumerable.Repeat(1L, maskLength ?? ids.Length).ToArray() },
            ["token_type_ids"] = new[] { types ?? new long[ids.Length] },
        },
    }));

    public static TheoryData<string, string, Func<HttpContent>, string> Cases() => new()
    {
        { "invalid UTF-8 in a JSON string", "/inference/infer", () => Bytes([.. "{\"model_id\": \"demo-mlp"u8, 0xff, 0xfe, .. "\", \"input_data\": [[1]]}"u8]), "INVALID_INPUT" },
        { "invalid UTF-8 in an input's name (seed 000)", "/api/v1/models/demo-mlp/inference", () => Bytes([.. "{\"input_data\": {\""u8, 0xff, .. "\": [[1]]}}"u8]), "INVALID_INPUT" },
        { "invalid UTF-8 in a datatype (seed 000)", "/api/v1/models/demo-mlp/inference", () => Bytes([.. "{\"input_data\": {\"x\": {\"datatype\": \""u8, 0xff, .. "\", \"data\": [[1]]}}}"u8]), "INVALID_INPUT" },
        { "invalid UTF-8 in an input's name (seed 003)", "/inference/infer", () => Bytes([.. "{\"model_name\": \"demo-mlp\", \"data\": {\""u8, 0xff, .. "\": [[1]]}}"u8]), "INVALID_INPUT" },
        { "invalid UTF-8 in an input's name (/v2)", "/v2/models/demo-mlp/infer", () => Bytes([.. "{\"inputs\": [{\"name\": \""u8, 0xff, .. "\", \"shape\": [1, 1], \"datatype\": \"FP32\", \"data\": [1]}]}"u8]), "INVALID_INPUT" },
        { "invalid UTF-8 in the request id (/v2)", "/v2/models/demo-mlp/infer", () => Bytes([.. "{\"id\": \""u8, 0xff, .. "\", \"inputs\": [{\"name\": \"x\", \"shape\": [1, 64], \"datatype\": \"FP32\", \"data\": "u8, .. System.Text.Encoding.UTF8.GetBytes(Row), .. "}]}"u8]), "INVALID_INPUT" },
        { "token id beyond the vocabulary", "/api/v1/models/demo-bert/inference", () => Bert([101, 5000, 102]), "INVALID_INPUT" },
        { "token type out of range", "/api/v1/models/demo-bert/inference", () => Bert([101, 7, 102], [0, 5, 0]), "INVALID_INPUT" },
        { "sequence longer than the position table", "/api/v1/models/demo-bert/inference", () => Bert([.. Enumerable.Repeat(7L, 600)]), "INVALID_INPUT" },
        { "mismatched sequence lengths", "/api/v1/models/demo-bert/inference", () => Bert([101, 7, 102], maskLength: 5), "INVALID_INPUT" },
        { "a [0, 2^62] shape", "/api/v1/models/demo-mlp/inference", () => Json("""{"input_data": {"x": {"shape": [0, 4611686018427387904], "data": []}}}"""), "INVALID_INPUT" },
        { "max_memory_gb NaN", "/inference/cache/config", () => Json("""{"max_memory_gb": "NaN"}"""), "INVALID_INPUT" },
        { "max_memory_gb 1e-300", "/inference/cache/config", () => Json("""{"max_memory_gb": 1e-300}"""), "INVALID_INPUT" },
    };

    [Fact]
    public async Task LongIds_AreQuotedInShortPieces()
    {
        var client = factory.CreateClient();
        var id = new string('a', 3000);
        foreach (var path in new[] { $"/api/v1/models/{id}", $"/api/v1/models/{id}/status", $"/models/demo-mlp/{id}", $"/api/deployments/{id}", $"/inference/async/{id}" })
        {
            var response = await client.GetAsync(path);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode is >= 400 and < 500, $"{path[..40]}: {(int)response.StatusCode}");
            Assert.DoesNotContain(new string('a', 101), text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task QueryNumbers_OutOfRangeOrNotNumbers_AreToldApart()
    {
        var client = factory.CreateClient();
        var big = await ExpectAsync(await client.GetAsync("/api/v1/models?limit=99999999999"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains("'limit' is out of range", big.GetProperty("message").GetString(), StringComparison.Ordinal); // seed 002's envelope
        var text = await ExpectAsync(await client.GetAsync("/api/v1/models?limit=ten"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains("'limit' must be a whole number", text.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WrongJsonTypes_AreNamedInTheWiresTerms_NotAsDotNetTypes()
    {
        var client = factory.CreateClient();
        foreach (var (path, body, where) in new[]
        {
            ("/api/v1/models/demo-mlp/scale", """{"replicas": 1.5}""", "$.replicas"),
            ("/api/v1/models", """{"name": "x", "tags": "abc"}""", "$.tags"),
            ("/inference/infer", """{"model_name": "demo-mlp", "options": []}""", "$.options"),
            ("/api/v1/models/deploy", "[]", null),
        })
        {
            var json = await ExpectAsync(await client.PostAsync(path, Json(body)), HttpStatusCode.BadRequest, "INVALID_INPUT");
            var text = json.GetRawText();
            Assert.DoesNotContain("System.", text, StringComparison.Ordinal);
            Assert.DoesNotContain("ModelKit.AspNetCore", text, StringComparison.Ordinal);
            if (where is not null) Assert.Contains(where, text, StringComparison.Ordinal);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task BadRequest_Is4xxWithACode_AndNoPath(string what, string path, Func<HttpContent> body, string code)
    {
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-bert");
        var method = path.EndsWith("/cache/config", StringComparison.Ordinal) ? HttpMethod.Put : HttpMethod.Post;
        var response = await client.SendAsync(new HttpRequestMessage(method, path) { Content = body() });
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{what}: {(int)response.StatusCode} {text}");
        Assert.Equal(code, CodeOf(JsonDocument.Parse(text).RootElement));
        Assert.DoesNotContain("onnxruntime_src", text, StringComparison.Ordinal);
        Assert.DoesNotContain("onnxruntime::", text, StringComparison.Ordinal);
        Assert.True(text.Length < 2000, text);
        Assert.DoesNotContain(factory.DataDirectory, text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/live")).StatusCode);
    }

    [Fact]
    public async Task BatchInference_NullItem_FailsAloneWithInvalidInput()
    {
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        var items = await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/batch_inference", Json($$"""{"requests": [null, {"input_data": {{Row}}}]}""")), HttpStatusCode.OK);
        Assert.Equal("INVALID_INPUT", items[0].GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("Request 0 is null", items[0].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal([1, 10], items[1].GetProperty("output_data").GetProperty("logits").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
    }

    [Fact]
    public async Task OipBinaryInput_NullDatatype_Is400()
    {
        var client = factory.CreateClient();
        var header = Encoding.UTF8.GetBytes("""{"inputs": [{"name": "x", "shape": [1, 64], "datatype": null, "parameters": {"binary_data_size": 256}}]}""");
        var content = Bytes([.. header, .. new byte[256]], "application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var response = await client.PostAsync("/v2/models/demo-mlp/infer", content);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Equal("INVALID_INPUT", JsonDocument.Parse(text).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Upload_HugeFileNameOrTruncatedBody_Is4xxAndLeavesNothing()
    {
        var client = factory.CreateClient();
        await ExpectAsync(await client.PostAsync("/api/v1/models", Json("""{"model_id": "bad-uploads", "name": "Bad uploads"}""")), HttpStatusCode.Created);

        var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(ModelKit.ModelGenerator.DemoModels.CreateMlp());
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", new string('a', 100_000) + ".onnx");
        var response = await client.PostAsync("/api/v1/models/bad-uploads/upload", form);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode} {text[..Math.Min(300, text.Length)]}");
        Assert.True(text.Length < 2000, "the error quotes the whole file name");

        // A multipart body cut off in the middle of the file part.
        var boundary = "cut-boundary";
        var head = Encoding.UTF8.GetBytes($"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.onnx\"\r\nContent-Type: application/octet-stream\r\n\r\n");
        var truncated = new ByteArrayContent([.. head, .. new byte[1000]]);
        truncated.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");
        response = await client.PostAsync("/api/v1/models/bad-uploads/upload", truncated);
        text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, $"{(int)response.StatusCode} {text}");

        var versions = JsonDocument.Parse(await client.GetStringAsync("/api/v1/models/bad-uploads/versions")).RootElement.GetProperty("data").GetProperty("versions"); // 002's envelope
        Assert.Equal(0, versions.GetArrayLength());
    }

    [Theory]
    [InlineData("GET", "/api/v1/no-such-thing", null, 404)]
    [InlineData("GET", "/api/v1/models?page=abc", null, 400)]
    [InlineData("GET", "/api/v1/models/demo-mlp/deployments/x?lines=abc", null, 404)]
    [InlineData("GET", "/api/deployments/demo-mlp/logs?lines=abc", null, 400)]
    [InlineData("POST", "/inference/infer", "text/plain", 415)]
    [InlineData("GET", "/v2/no-such-thing", null, 404)]
    public async Task FrameworkAnswers_CarryTheSurfacesErrorShape(string method, string path, string? contentType, int status)
    {
        var client = factory.CreateClient();
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (contentType is not null) request.Content = new StringContent("hello", Encoding.UTF8, contentType);
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{method} {path}: {(int)response.StatusCode} '{text}'");
        Assert.False(string.IsNullOrEmpty(text), $"{method} {path}: empty body");
        Assert.True(CodeOf(JsonDocument.Parse(text).RootElement) is not null, text);
    }

    [Theory]
    [InlineData("/api/v1/models/")]
    [InlineData("/v2/models/")]
    public async Task LongIdInThePath_IsNotEchoedAtLength(string prefix)
    {
        var client = factory.CreateClient();
        var response = await client.GetAsync(prefix + new string('q', 5000));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode is >= 400 and < 500, text[..Math.Min(200, text.Length)]);
        Assert.True(text.Length < 1200, $"{text.Length} characters came back");
    }
}
