using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Inference;
using ModelKit.ModelGenerator;
using ModelKit.Registry;
using ModelKit.Tensors;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>The REST surface through a real HTTP client against the sample server (ASP.NET test server, real ONNX Runtime).</summary>
public sealed class RestApiTests : IClassFixture<SampleServerFactory>
{
    private static readonly float[] Row = Enumerable.Range(0, 64).Select(i => MathF.Sin(i * 0.1f)).ToArray();
    private readonly SampleServerFactory _factory;
    private readonly HttpClient _client;

    public RestApiTests(SampleServerFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    private async Task<float[]> InProcessAsync(float[] row)
    {
        var inference = _factory.Services.GetRequiredService<IInferenceService>();
        var result = await inference.InferAsync(new InferenceRequest { ModelId = "demo-mlp", Inputs = new Dictionary<string, Tensor> { ["x"] = Tensor.Create(row, 1, 64) } });
        return result.Outputs["logits"].ToArray<float>();
    }

    private static float[] Logits(JsonElement response) =>
        response.GetProperty("output_data").GetProperty("logits").GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();

    [Fact]
    public async Task DemoModels_AreRegisteredAndDeployed_WithStagesAndReplicas()
    {
        var status = await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        Assert.Equal("demo-mlp", status.GetProperty("deployment_id").GetString());
        Assert.Equal(100, status.GetProperty("progress").GetInt32());
        Assert.Equal(["preparation", "model_loading", "warmup", "service_registration"], status.GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("name").GetString()));
        Assert.True(status.GetProperty("replicas").GetProperty("ready").GetInt32() >= 1);
        Assert.EndsWith("/api/v1/models/demo-mlp/inference", status.GetProperty("endpoints")[0].GetProperty("url").GetString(), StringComparison.Ordinal);

        var list = (await _client.GetFromJsonAsync<JsonElement>("/api/v1/models?page=1&page_size=10&framework=onnx")).GetProperty("data");
        var ids = list.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("model_id").GetString()).ToArray();
        Assert.Contains("demo-mlp", ids);
        Assert.Contains("demo-bert", ids);
        Assert.Equal(1, list.GetProperty("pagination").GetProperty("page").GetInt32());
        var one = (await _client.GetFromJsonAsync<JsonElement>("/api/v1/models?limit=1&offset=1")).GetProperty("data");
        Assert.Single(one.GetProperty("items").EnumerateArray());
        Assert.True(one.GetProperty("pagination").GetProperty("total").GetInt32() >= 2); // other tests may add models

        var details = (await _client.GetFromJsonAsync<JsonElement>("/api/v1/models/demo-mlp")).GetProperty("data");
        var input = details.GetProperty("versions")[0].GetProperty("inputs")[0];
        Assert.Equal(("x", "FP32"), (input.GetProperty("name").GetString(), input.GetProperty("datatype").GetString()));
    }

    [Fact]
    public async Task Inference_AllThreeInputForms_MatchTheInProcessResult()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var expected = await InProcessAsync(Row);
        var nested = JsonSerializer.Serialize(new[] { Row });
        var flat = JsonSerializer.Serialize(Row);
        string[] bodies =
        [
            $$"""{"input_data": {{nested}}, "timeout": 30, "priority": "high"}""",
            $$$"""{"input_data": {"x": {{{nested}}}}}""",
            $$$$"""{"input_data": {"x": {"shape": [1, 64], "datatype": "FP32", "data": {{{{flat}}}}}}}""",
        ];
        foreach (var body in bodies)
        {
            var response = await _client.PostAsync("/api/v1/models/demo-mlp/inference", Json(body));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
            var result = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("demo-mlp", result.GetProperty("model_id").GetString());
            Assert.False(string.IsNullOrEmpty(result.GetProperty("request_id").GetString()));
            Assert.True(result.GetProperty("processing_time").GetDouble() > 0);
            Assert.Equal([1, 10], result.GetProperty("output_data").GetProperty("logits").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            var logits = Logits(result);
            for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], logits[i], 5);
        }

        // The deployment's queue measured those requests: its mean latency, in milliseconds.
        var queue = (await _client.GetFromJsonAsync<JsonElement>("/api/v1/models/demo-mlp/status")).GetProperty("queue");
        Assert.True(queue.GetProperty("average_latency_ms").GetDouble() > 0, queue.GetRawText());
        Assert.False(queue.TryGetProperty("average_latency", out _));

        var unified = await _client.PostAsync("/inference/infer", Json($$"""{"model_id": "demo-mlp", "version": "1", "input_data": {{nested}}}"""));
        Assert.True(unified.IsSuccessStatusCode, await unified.Content.ReadAsStringAsync());
        Assert.Equal(expected[0], (await unified.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetProperty("outputs").GetProperty("logits").GetProperty("data")[0].GetSingle(), 5);
    }

    [Fact]
    public async Task Seed003Bodies_TaskEngineDataAndOptions_AreUnderstood()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var nested = JsonSerializer.Serialize(new[] { Row });
        var ok = await ExpectAsync(await _client.PostAsync("/inference/infer",
            Json($$$"""{"task": "classification", "engine": "onnxruntime", "model_name": "demo-mlp", "data": {"x": {{{nested}}}}, "options": {}}""")), HttpStatusCode.OK);
        Assert.Equal([1, 10], ok.GetProperty("result").GetProperty("outputs").GetProperty("logits").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));

        var wrongTask = await ExpectAsync(await _client.PostAsync("/inference/infer",
            Json($$"""{"task": "text-generation", "model_name": "demo-mlp", "data": {{nested}}}""")), HttpStatusCode.BadRequest, "UNSUPPORTED_TASK");
        Assert.Contains("performs 'classification', not 'text-generation'", wrongTask.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        var wrongEngine = await ExpectAsync(await _client.PostAsync("/inference/infer",
            Json($$"""{"engine": "ollama", "model_name": "demo-mlp", "data": {{nested}}}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains("'engine' 'ollama' is not served here", wrongEngine.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        // parallel: false runs the items one after another, in order; a failing item fails alone either way.
        var batch = await ExpectAsync(await _client.PostAsync("/inference/batch", Json($$"""
            {"requests": [
              {"task": "classification", "model_name": "demo-mlp", "data": {{nested}}},
              {"task": "text-generation", "model_name": "demo-mlp", "data": {{nested}}},
              {"model_name": "demo-mlp", "data": {{nested}}}
            ], "parallel": false}
            """)), HttpStatusCode.OK);
        var items = batch.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal([0, 1, 2], items.Select(i => i.GetProperty("index").GetInt32()));
        Assert.Equal([true, false, true], items.Select(i => i.GetProperty("success").GetBoolean()));
        Assert.Equal("UNSUPPORTED_TASK", items[1].GetProperty("code").GetString());
    }

    [Fact]
    public async Task Batches_ReportEachItemOnItsOwn()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var nested = JsonSerializer.Serialize(new[] { Row });
        var body = $$"""
            {"requests": [
              {"model_id": "demo-mlp", "input_data": {{nested}}},
              {"model_id": "ghost", "input_data": {{nested}}},
              {"model_id": "demo-mlp", "input_data": [[1, 2, 3]]},
              {"model_name": "demo-mlp", "input_data": {{nested}}}
            ], "timeout": 30}
            """;
        var response = await _client.PostAsync("/inference/batch", Json(body));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var result = await response.Content.ReadFromJsonAsync<JsonElement>();
        var items = result.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal([true, false, false, true], items.Select(i => i.GetProperty("success").GetBoolean()));
        Assert.Equal("MODEL_NOT_FOUND", items[1].GetProperty("code").GetString());
        Assert.Equal("INVALID_INPUT", items[2].GetProperty("code").GetString());
        Assert.Contains("input 'x' expects float32[?,64], got float32[1,3]", items[2].GetProperty("error").GetString(), StringComparison.Ordinal);
        var summary = result.GetProperty("summary");
        Assert.Equal((4, 2, 2), (summary.GetProperty("total_requests").GetInt32(), summary.GetProperty("successful").GetInt32(), summary.GetProperty("failed").GetInt32()));

        var seed000 = await _client.PostAsync("/api/v1/models/demo-mlp/batch_inference", Json($$"""{"requests": [{"input_data": {{nested}}}, {"input_data": {{nested}}}], "priority": "low"}"""));
        Assert.True(seed000.IsSuccessStatusCode, await seed000.Content.ReadAsStringAsync());
        var array = (await seed000.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToArray();
        Assert.Equal(2, array.Length);
        Assert.Equal(Logits(array[0]), Logits(array[1]));

        var tooMany = "{\"requests\": [" + string.Join(",", Enumerable.Repeat($$"""{"model_id": "demo-mlp", "input_data": {{nested}}}""", 101)) + "]}";
        await ExpectAsync(await _client.PostAsync("/inference/batch", Json(tooMany)), HttpStatusCode.BadRequest, "INVALID_INPUT");
    }

    [Theory]
    [InlineData("{bad json", "not valid JSON")]
    [InlineData("""{"input_data": [[1]], "timeout": "soon"}""", "$.timeout")]
    [InlineData("""{"parameters": {}}""", "'input_data' is required")]
    [InlineData("""{"input_data": {"x": {"shape": [1, 64], "datatype": "INT64", "data": [1]}}}""", "shape [1,64] holds 64 values but 1 were given")]
    [InlineData("""{"input_data": {"y": [[1, 2]]}}""", "input 'y' is not an input of the model")]
    [InlineData("""{"input_data": [[1, 2], [3]]}""", "ragged")]
    [InlineData("""{"input_data": [["a", "b"]]}""", "every value must be a float32")]
    [InlineData("""{"input_data": [[1, null]]}""", "every value must be a float32; value 1 is null")]
    [InlineData("""{"input_data": [[1, "nope"]]}""", "value 1 is \"nope\"")]
    [InlineData("""{"input_data": {"x": {"shape": [1, -2], "data": [1]}}}""", "'shape' must be an array of non-negative integers")]
    [InlineData("""{"input_data": {"x": {"datatype": "FP8", "data": [1]}}}""", "datatype \"FP8\" is not known")]
    [InlineData("""{"input_data": {"x": {"shape": [1, 1]}}}""", "input 'x': 'data' (an array) is required")]
    [InlineData("""{"input_data": 5}""", "'input_data' must be an object of named inputs")]
    [InlineData("""{"input_data": {"x": {"shape": [4294967296, 4294967296, 4294967296], "data": [1]}}}""", "holds more than 2147483591 elements")]
    [InlineData("""{"input_data": [[1]], "priority": "urgent"}""", "'priority' must be low, normal or high")]
    [InlineData("""{"input_data": [[1]], "timeout": "NaN"}""", "'timeout' must be between 0 and 3600 seconds")]
    public async Task BadInferenceRequests_Get400WithTheSeedCode_AndTheServerStaysUp(string body, string expected)
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var problem = await ExpectAsync(await _client.PostAsync("/api/v1/models/demo-mlp/inference", Json(body)), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains(expected, problem.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        var ok = await _client.PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{JsonSerializer.Serialize(new[] { Row })}}}"""));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task WrongDatatypeAndUnknownModel_AreNamedInTheProblem()
    {
        await _factory.WaitUntilRunningAsync(_client, "demo-mlp");
        var ints = JsonSerializer.Serialize(Enumerable.Range(0, 64).ToArray());
        var wrongType = await ExpectAsync(
            await _client.PostAsync("/api/v1/models/demo-mlp/inference", Json($$$$"""{"input_data": {"x": {"shape": [1, 64], "datatype": "INT64", "data": {{{{ints}}}}}}}""")),
            HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Contains("input 'x' expects float32[?,64], got int64[1,64]", wrongType.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        var missing = await ExpectAsync(await _client.PostAsync("/api/v1/models/ghost/inference", Json("""{"input_data": [[1]]}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        Assert.Equal("ghost", missing.GetProperty("error").GetProperty("details").GetProperty("model_id").GetString());
        await ExpectAsync(await _client.GetAsync("/api/v1/models/ghost"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ExpectAsync(await _client.GetAsync("/api/v1/models/ghost/status"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ExpectAsync(await _client.GetAsync("/api/v1/models?status=sleeping"), HttpStatusCode.BadRequest, "INVALID_INPUT");
    }

    [Fact]
    public async Task DeployScaleAndStatus_ThroughTheSeedBodies()
    {
        var registry = _factory.Services.GetRequiredService<IModelRegistry>();
        using (var stream = new MemoryStream(DemoModels.CreateMlp(new MlpSpec { Seed = 5 })))
        {
            await registry.RegisterAsync(new ModelDefinition { Id = "tcm_diagnosis_v2", Name = "MLP for the seed example" }, stream, "m.onnx", version: "2.0.0");
        }

        // Seed 000's example (docker image, CPU and environment are accepted; the GPU would ask for cuda:0, so it is left out here).
        var deploy = await _client.PostAsync("/api/v1/models/deploy", Json("""
            {"config": {"model_id": "tcm_diagnosis_v2", "name": "中医诊断模型 v2.0", "version": "2.0.0", "model_type": "tcm_diagnosis",
              "framework": "onnx", "docker_image": "suoke/tcm-diagnosis:2.0.0",
              "resource_requirements": {"cpu": "2", "memory": "64Mi"},
              "scaling_config": {"min_replicas": 1, "max_replicas": 5, "target_cpu_utilization": 70},
              "environment_variables": {"MODE": "fast"}}}
            """));
        Assert.True(deploy.StatusCode == HttpStatusCode.Accepted, await deploy.Content.ReadAsStringAsync());
        var accepted = await deploy.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("2.0.0", accepted.GetProperty("version").GetString());
        var status = await _factory.WaitUntilRunningAsync(_client, "tcm_diagnosis_v2");
        Assert.Equal(("64Mi", 67108864), (status.GetProperty("resource_usage").GetProperty("memory_request").GetString(), status.GetProperty("resource_usage").GetProperty("memory_request_bytes").GetInt64()));
        Assert.Equal(5, status.GetProperty("replicas").GetProperty("max").GetInt32());
        Assert.Equal("fast", status.GetProperty("environment_variables").GetProperty("MODE").GetString());

        var scale = await _client.PostAsync("/api/v1/models/tcm_diagnosis_v2/scale", Json("""{"replicas": 3}"""));
        Assert.True(scale.IsSuccessStatusCode, await scale.Content.ReadAsStringAsync());
        var scaled = await scale.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((3, 3), (scaled.GetProperty("target_replicas").GetInt32(), scaled.GetProperty("current_replicas").GetInt32()));
        await ExpectAsync(await _client.PostAsync("/api/v1/models/tcm_diagnosis_v2/scale", Json("""{"replicas": 0}""")), HttpStatusCode.BadRequest, "INVALID_MODEL_CONFIG");
        var beyond = await (await _client.PostAsync("/api/v1/models/tcm_diagnosis_v2/scale", Json("""{"replicas": 7}"""))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(7, beyond.GetProperty("target_replicas").GetInt32()); // scaling past max_replicas raises it
        Assert.Equal(7, (await _factory.WaitUntilRunningAsync(_client, "tcm_diagnosis_v2")).GetProperty("replicas").GetProperty("max").GetInt32());
        await ExpectAsync(await _client.PostAsync("/api/v1/models/tcm_diagnosis_v2/scale", Json("""{}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");

        // Deploying it again, asking for more memory than the cache holds, or an unknown model.
        await ExpectAsync(await _client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "tcm_diagnosis_v2"}}""")), HttpStatusCode.Conflict, "MODEL_ALREADY_EXISTS");
        using (var stream = new MemoryStream(DemoModels.CreateMlp(new MlpSpec { Seed = 6 })))
        {
            await registry.RegisterAsync(new ModelDefinition { Id = "big", Name = "Big" }, stream, "m.onnx");
        }

        await ExpectAsync(await _client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "big", "resource_requirements": {"memory": "64Gi"}}}""")),
            HttpStatusCode.ServiceUnavailable, "INSUFFICIENT_RESOURCES");
        await ExpectAsync(await _client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "big", "resource_requirements": {"memory": "lots"}}}""")),
            HttpStatusCode.BadRequest, "INVALID_MODEL_CONFIG");
        await ExpectAsync(await _client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "nope"}}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ExpectAsync(await _client.PostAsync("/api/v1/models/deploy", Json("""{"config": {}}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
    }

    [Fact]
    public async Task Health_ReportsTheRegistryAndCache()
    {
        var health = await _client.GetFromJsonAsync<JsonElement>("/health");
        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal("healthy", health.GetProperty("checks").GetProperty("modelkit").GetProperty("status").GetString());
        var seed003 = await _client.GetAsync("/inference/health");
        Assert.Equal(HttpStatusCode.OK, seed003.StatusCode);
    }
}
