using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Inference;
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
        Assert.Contains("expects float32[?,64], got float32[1,2]", await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json("""{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}]}""")), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        var zeros = JsonSerializer.Serialize(new float[64]);
        Assert.Contains("output 'probabilities'", await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer",
            Json($$"""{"inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": {{zeros}}}], "outputs": [{"name": "probabilities"}]}""")), HttpStatusCode.BadRequest), StringComparison.Ordinal);
        Assert.Contains("not valid JSON", await ErrorAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json("{oops")), HttpStatusCode.BadRequest), StringComparison.Ordinal);
    }
}
