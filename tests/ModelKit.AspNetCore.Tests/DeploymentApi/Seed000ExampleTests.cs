using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.AspNetCore;
using ModelKit.Caching;
using ModelKit.Deployments;
using ModelKit.ModelGenerator;
using ModelKit.Tests.RegistryApi;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.DeploymentApi;

/// <summary>
/// Seed 000's examples (shared/seeds/000-deployment-api.md), each request body verbatim, sent over a real socket to the
/// sample server (host and key adjusted). The sample server does not carry <c>tcm_diagnosis_v2</c> itself: its demo
/// models are deployed at start (the deploy example would be refused as already deployed), the examples ask for versions
/// 2.0.0 and then 2.1.0, and the inference example's input (symptoms as text, patient info as an object) matches no
/// tensor model. So each flow first registers <c>tcm_diagnosis_v2</c> through seed 002's own create and upload, with two
/// versions of a generated MLP (input <c>x</c> float32[?,64]), and then runs the examples in the document's order.
/// By default seed 002 answers the shared list and delete; <see cref="DeploymentShaped"/> runs the flow with
/// <see cref="ModelsResourceOptions.Shape"/> = Deployment, where they answer in seed 000's shapes.
/// </summary>
public sealed class Seed000ExampleTests(KestrelSampleServerFactory factory) : IClassFixture<KestrelSampleServerFactory>
{
    [Fact]
    public Task Examples_InTheDocumentsOrder_AnswerAsDocumented() => Seed000Flow.RunAsync(factory, ModelsResourceShape.Registry);

    [Fact]
    public async Task ErrorExample_UnknownModel_IsModelNotFoundInTheSeedsErrorShape()
    {
        // The document's error example: MODEL_NOT_FOUND (404) with details.model_id, status "error" and a timestamp.
        var client = factory.CreateClient();
        var error = await ExpectAsync(await client.GetAsync("/api/v1/models/invalid_model/status"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        Seed000Flow.AssertErrorShape(error, "MODEL_NOT_FOUND");
        Assert.Equal("invalid_model", error.GetProperty("error").GetProperty("details").GetProperty("model_id").GetString());

        // A registered model that was never deployed: 404 DEPLOYMENT_NOT_FOUND, saying how to deploy it.
        await ExpectAsync(await client.PostAsync("/api/v1/models", Json("""{"model_id": "never-deployed", "name": "Never deployed"}""")), HttpStatusCode.Created);
        var undeployed = await ExpectAsync(await client.GetAsync("/api/v1/models/never-deployed/status"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
        Seed000Flow.AssertErrorShape(undeployed, "DEPLOYMENT_NOT_FOUND");
        Assert.Contains("POST /api/v1/models/deploy", undeployed.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        await ExpectAsync(await client.PostAsync("/api/v1/models/never-deployed/scale", Json("""{"replicas": 3}""")), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND");
    }

    [Fact]
    public async Task SharedPath_EachOperationAnswersInItsSeedsShape_IncludingAuthAndUnmatchedPaths()
    {
        var anonymous = new HttpClient { BaseAddress = factory.CreateClient().BaseAddress };
        // Seed 000's operations: {"status": "error", "error": {...}}.
        Seed000Flow.AssertErrorShape(await ExpectAsync(await anonymous.PostAsync("/api/v1/models/deploy", Json("{}")), HttpStatusCode.Unauthorized, "UNAUTHORIZED"), "UNAUTHORIZED");
        Seed000Flow.AssertErrorShape(await ExpectAsync(await anonymous.GetAsync("/api/v1/models/demo-mlp/status"), HttpStatusCode.Unauthorized, "UNAUTHORIZED"), "UNAUTHORIZED");
        var client = factory.CreateClient();
        Seed000Flow.AssertErrorShape(await ExpectAsync(
            await client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/api/v1/models/demo-mlp/status")), HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED"), "METHOD_NOT_ALLOWED");
        Seed000Flow.AssertErrorShape(await ExpectAsync(await client.PostAsync("/api/v1/models/deploy", Json("""{"config": {}}""")), HttpStatusCode.BadRequest, "INVALID_INPUT"), "INVALID_INPUT");

        // Seed 002's operations (and the rest of /api/v1): {"code": <status>, "message", "data": null, "error": CODE}.
        Seed002Envelope.AssertError(await ExpectAsync(await anonymous.GetAsync("/api/v1/models"), HttpStatusCode.Unauthorized, "UNAUTHORIZED"), 401);
        Seed002Envelope.AssertError(await ExpectAsync(await client.GetAsync("/api/v1/models/ghost"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND"), 404);
        Seed002Envelope.AssertError(await ExpectAsync(await client.GetAsync("/api/v1/no-such-thing"), HttpStatusCode.NotFound, "NOT_FOUND"), 404);
    }

    /// <summary>The flow with seed 000's shapes for list, get and delete (<see cref="ModelsResourceOptions.Shape"/>).</summary>
    public sealed class DeploymentShaped(DeploymentShapedFactory factory) : IClassFixture<DeploymentShapedFactory>
    {
        [Fact]
        public Task Examples_InTheDocumentsOrder_AnswerAsDocumented() => Seed000Flow.RunAsync(factory, ModelsResourceShape.Deployment);
    }

    /// <summary>The sample server on Kestrel with <c>ModelKit:Http:ModelsResource:Shape = Deployment</c>.</summary>
    public sealed class DeploymentShapedFactory : SampleServerFactory
    {
        public DeploymentShapedFactory()
        {
            UseKestrel(0);
            StartServer();
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("urls", "http://127.0.0.1:0");
            builder.UseSetting("ModelKit:Http:ModelsResource:Shape", "Deployment"); // as appsettings.json would set it
        }
    }
}

/// <summary>The examples of seed 000 in the document's order.</summary>
internal static class Seed000Flow
{
    private const long Gi = 1L << 30;

    public static async Task RunAsync(SampleServerFactory factory, ModelsResourceShape shape)
    {
        var client = factory.CreateClient();
        await PrepareModelAsync(client);
        var budget = factory.Services.GetRequiredService<IModelCache>().GetStats().MemoryLimitBytes;

        // POST /api/v1/models/deploy — verbatim. Expected: 202 with deployment_id and message. memory "8Gi" is reserved out of
        // the cache budget (75% of the machine's memory: 18 GiB on the 24 GiB sample machine), so it fits where the budget
        // holds 8 GiB; elsewhere 503 INSUFFICIENT_RESOURCES. nvidia.com/gpu "1" on this CPU server falls back to the CPU,
        // and the answer says so, as it says that docker_image, framework "tensorflow", cpu and target_cpu_utilization are
        // not used (the registered ONNX artifact runs in-process with ONNX Runtime).
        var deploy = await client.PostAsync("/api/v1/models/deploy", Json("""
            {
                "config": {
                  "model_id": "tcm_diagnosis_v2",
                  "name": "中医诊断模型 v2.0",
                  "version": "2.0.0",
                  "model_type": "tcm_diagnosis",
                  "framework": "tensorflow",
                  "docker_image": "suoke/tcm-diagnosis:2.0.0",
                  "resource_requirements": {
                    "cpu": "2",
                    "memory": "8Gi",
                    "nvidia.com/gpu": "1"
                  },
                  "scaling_config": {
                    "min_replicas": 1,
                    "max_replicas": 5,
                    "target_cpu_utilization": 70
                  }
                }
              }
            """));
        if (budget < 8 * Gi)
        {
            AssertErrorShape(await ExpectAsync(deploy, HttpStatusCode.ServiceUnavailable, "INSUFFICIENT_RESOURCES"), "INSUFFICIENT_RESOURCES");
            return; // the rest needs the deployment
        }

        var accepted = await ExpectAsync(deploy, HttpStatusCode.Accepted);
        Assert.False(string.IsNullOrEmpty(accepted.GetProperty("deployment_id").GetString()));
        Assert.Contains("/api/v1/models/tcm_diagnosis_v2/status", accepted.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(("2.0.0", "cpu"), (accepted.GetProperty("version").GetString(), accepted.GetProperty("device").GetString()));
        var notes = string.Join("\n", accepted.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
        Assert.Contains("nvidia.com/gpu: 1 asked, but this server serves on the CPU", notes, StringComparison.Ordinal);
        Assert.Contains("docker_image 'suoke/tcm-diagnosis:2.0.0' is not used", notes, StringComparison.Ordinal);
        Assert.Contains("framework 'tensorflow' is not used", notes, StringComparison.Ordinal);
        Assert.Contains("cpu: 2 is not applied", notes, StringComparison.Ordinal);
        Assert.Contains("target_cpu_utilization is not used", notes, StringComparison.Ordinal);
        Assert.Equal(5, accepted.GetProperty("notes").GetArrayLength()); // one note per setting not applied, no more

        // GET /api/v1/models/tcm_diagnosis_v2/status — expected: 200 with the documented fields, filled from the deployment:
        // replicas, the absolute inference URL on the host the client called, resource_usage (memory of the loaded model,
        // gpu "0": the CPU fallback; cpu null: not measured per deployment), and ModelKit's stages beside them.
        var status = await factory.WaitUntilRunningAsync(client, "tcm_diagnosis_v2");
        var response = await client.GetAsync("/api/v1/models/tcm_diagnosis_v2/status");
        status = await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal(("tcm_diagnosis_v2", "TCM diagnosis (generated MLP)", "2.0.0", "running"),
            (status.GetProperty("model_id").GetString(), status.GetProperty("name").GetString(), status.GetProperty("version").GetString(), status.GetProperty("status").GetString()));
        var replicas = status.GetProperty("replicas");
        Assert.Equal(1, replicas.GetProperty("desired").GetInt32());
        Assert.True(replicas.GetProperty("ready").GetInt32() >= 1 && replicas.GetProperty("current").GetInt32() >= 1);
        var endpoint = status.GetProperty("endpoints")[0];
        Assert.Equal("inference", endpoint.GetProperty("type").GetString());
        Assert.Equal(new Uri(client.BaseAddress!, "/api/v1/models/tcm_diagnosis_v2/inference").ToString(), endpoint.GetProperty("url").GetString());
        Assert.True(DateTimeOffset.TryParse(status.GetProperty("created_at").GetString(), CultureInfo.InvariantCulture, out _));
        Assert.True(DateTimeOffset.TryParse(status.GetProperty("updated_at").GetString(), CultureInfo.InvariantCulture, out _));
        var usage = status.GetProperty("resource_usage");
        Assert.Equal(JsonValueKind.Null, usage.GetProperty("cpu").ValueKind);
        Assert.Equal("0", usage.GetProperty("gpu").GetString());
        Assert.Equal("cpu", status.GetProperty("device").GetString());
        var memoryBytes = usage.GetProperty("memory_bytes").GetInt64(); // "2.3Mi": the same bytes, rounded to a tenth of the unit
        Assert.InRange(ResourceQuantity.ParseBytes(usage.GetProperty("memory").GetString()) ?? 0, memoryBytes * 95 / 100, memoryBytes * 105 / 100);
        Assert.Equal(("8Gi", 8 * Gi), (usage.GetProperty("memory_request").GetString(), usage.GetProperty("memory_request_bytes").GetInt64()));

        // GET /api/v1/models?status=running&limit=10 — expected: 200; status is a deployment state here (seed 000's vocabulary).
        // By default seed 002 answers the list (its envelope, data.items, page_size 10); with the option, seed 000's bare array.
        var list = await ExpectAsync(await client.GetAsync("/api/v1/models?status=running&limit=10"), HttpStatusCode.OK);
        var items = shape == ModelsResourceShape.Registry ? Seed002Envelope.Data(list).GetProperty("items") : list;
        Assert.Equal(JsonValueKind.Array, items.ValueKind);
        Assert.InRange(items.GetArrayLength(), 2, 10);
        Assert.Contains("tcm_diagnosis_v2", items.EnumerateArray().Select(i => i.GetProperty("model_id").GetString()));
        if (shape == ModelsResourceShape.Registry)
        {
            Assert.All(items.EnumerateArray(), i => Assert.Equal("running", i.GetProperty("deployment").GetProperty("status").GetString()));
            Assert.Equal(10, Seed002Envelope.Data(list).GetProperty("pagination").GetProperty("page_size").GetInt32());
        }
        else
        {
            foreach (var item in items.EnumerateArray())
            {
                Assert.Equal("running", item.GetProperty("status").GetString());
                foreach (var field in new[] { "model_id", "name", "version", "status", "model_type", "created_at", "updated_at" }) Assert.True(item.TryGetProperty(field, out _), field);
            }
        }

        // POST /api/v1/models/tcm_diagnosis_v2/inference — verbatim. Expected: 400 INVALID_INPUT in seed 000's error shape:
        // the model is a tensor model (input x, float32[?,64]) and the example sends symptoms as text and patient info as an
        // object; the message names the input that is not the model's and what the model takes.
        var inference = await ExpectAsync(await client.PostAsync("/api/v1/models/tcm_diagnosis_v2/inference", Json("""
            {
                "input_data": {
                  "symptoms": ["头痛", "乏力", "食欲不振"],
                  "patient_info": {
                    "age": 35,
                    "gender": "female",
                    "medical_history": []
                  }
                },
                "parameters": {
                  "temperature": 0.7,
                  "max_tokens": 1024
                },
                "timeout": 30,
                "priority": "normal"
              }
            """)), HttpStatusCode.BadRequest, "INVALID_INPUT");
        AssertErrorShape(inference, "INVALID_INPUT");
        var why = inference.GetProperty("error").GetProperty("message").GetString();
        Assert.Contains("input 'symptoms' is not an input of the model", why, StringComparison.Ordinal);
        Assert.Contains("takes tensors: 'x' float32[?,64]", why, StringComparison.Ordinal);

        // The same call with input the model takes succeeds, in the documented result shape.
        var row = JsonSerializer.Serialize(new[] { Enumerable.Range(0, 64).Select(i => i / 64f).ToArray() });
        var result = await ExpectAsync(await client.PostAsync("/api/v1/models/tcm_diagnosis_v2/inference",
            Json($$$"""{"input_data": {"x": {{{row}}}}, "parameters": {"temperature": 0.7}, "timeout": 30, "priority": "normal"}""")), HttpStatusCode.OK);
        Assert.Equal("tcm_diagnosis_v2", result.GetProperty("model_id").GetString());
        Assert.False(string.IsNullOrEmpty(result.GetProperty("request_id").GetString()));
        Assert.True(result.GetProperty("processing_time").GetDouble() > 0);
        Assert.Equal([1, 10], result.GetProperty("output_data").GetProperty("logits").GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.True(DateTimeOffset.TryParse(result.GetProperty("timestamp").GetString(), CultureInfo.InvariantCulture, out _));

        // POST /api/v1/models/tcm_diagnosis_v2/batch_inference — verbatim. Expected: 400 INVALID_INPUT for the same reason:
        // no request can run, so the whole batch is refused, with each request's reason in details.failed_requests.
        var batch = await ExpectAsync(await client.PostAsync("/api/v1/models/tcm_diagnosis_v2/batch_inference", Json("""
            {
                "requests": [
                  {
                    "input_data": {
                      "symptoms": ["头痛", "乏力"],
                      "patient_info": {"age": 35, "gender": "female"}
                    },
                    "parameters": {"temperature": 0.7}
                  },
                  {
                    "input_data": {
                      "symptoms": ["失眠", "焦虑"],
                      "patient_info": {"age": 28, "gender": "male"}
                    },
                    "parameters": {"temperature": 0.8}
                  }
                ],
                "timeout": 60,
                "priority": "normal"
              }
            """)), HttpStatusCode.BadRequest, "INVALID_INPUT");
        AssertErrorShape(batch, "INVALID_INPUT");
        var failed = batch.GetProperty("error").GetProperty("details").GetProperty("failed_requests");
        Assert.Equal([0, 1], failed.EnumerateArray().Select(f => f.GetProperty("index").GetInt32()));

        // With one request the model takes, the batch answers 200: an array of results, the bad one with error in its place.
        var mixed = await ExpectAsync(await client.PostAsync("/api/v1/models/tcm_diagnosis_v2/batch_inference",
            Json($$$"""{"requests": [{"input_data": {"x": {{{row}}}}}, {"input_data": {"symptoms": ["失眠"]}}], "timeout": 60, "priority": "normal"}""")), HttpStatusCode.OK);
        Assert.Equal(2, mixed.GetArrayLength());
        Assert.Equal(Logits(result), Logits(mixed[0]));
        Assert.Equal("INVALID_INPUT", mixed[1].GetProperty("error").GetProperty("code").GetString());

        // POST /api/v1/models/tcm_diagnosis_v2/scale — verbatim. Expected: 200 with message, current_replicas and target_replicas
        // (replicas change without a reload, so 3 serve when it answers).
        var scaled = await ExpectAsync(await client.PostAsync("/api/v1/models/tcm_diagnosis_v2/scale", Json("""
            {
                "replicas": 3
              }
            """)), HttpStatusCode.OK);
        Assert.Equal((3, 3), (scaled.GetProperty("current_replicas").GetInt32(), scaled.GetProperty("target_replicas").GetInt32()));
        Assert.False(string.IsNullOrEmpty(scaled.GetProperty("message").GetString()));

        // PUT /api/v1/models/tcm_diagnosis_v2 — verbatim. Expected: 200 with deployment_id and message once version 2.1.0 serves
        // (rolled in without failing requests in flight); memory "16Gi" replaces the 8 GiB reservation where the budget holds
        // it (else 503 INSUFFICIENT_RESOURCES, nothing changed); cpu "4" and docker_image are noted as not applied.
        var update = await client.PutAsync("/api/v1/models/tcm_diagnosis_v2", Json("""
            {
                "config": {
                  "version": "2.1.0",
                  "docker_image": "suoke/tcm-diagnosis:2.1.0",
                  "resource_requirements": {
                    "cpu": "4",
                    "memory": "16Gi"
                  }
                }
              }
            """));
        if (budget >= 16 * Gi)
        {
            var updated = await ExpectAsync(update, HttpStatusCode.OK);
            var updateNotes = string.Join("\n", updated.GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
            Assert.Contains("docker_image 'suoke/tcm-diagnosis:2.1.0' is not used", updateNotes, StringComparison.Ordinal);
            Assert.Contains("cpu: 4 is not applied", updateNotes, StringComparison.Ordinal);
            Assert.Equal(accepted.GetProperty("deployment_id").GetString(), updated.GetProperty("deployment_id").GetString());
            Assert.Contains("now serves version 2.1.0", updated.GetProperty("message").GetString(), StringComparison.Ordinal);
            var after = await factory.WaitUntilRunningAsync(client, "tcm_diagnosis_v2");
            Assert.Equal(("2.1.0", "16Gi"), (after.GetProperty("version").GetString(), after.GetProperty("resource_usage").GetProperty("memory_request").GetString()));
        }
        else
        {
            AssertErrorShape(await ExpectAsync(update, HttpStatusCode.ServiceUnavailable, "INSUFFICIENT_RESOURCES"), "INSUFFICIENT_RESOURCES");
        }

        // DELETE /api/v1/models/tcm_diagnosis_v2 — verbatim. Expected: 409 CONFLICT: the model is deployed, and a delete
        // without force never stops a serving deployment (in seed 002's envelope by default, seed 000's error shape with the option).
        var refused = await ExpectAsync(await client.DeleteAsync("/api/v1/models/tcm_diagnosis_v2"), HttpStatusCode.Conflict, "CONFLICT");
        if (shape == ModelsResourceShape.Registry) Seed002Envelope.AssertError(refused, 409);
        else AssertErrorShape(refused, "CONFLICT");

        // DELETE /api/v1/models/tcm_diagnosis_v2?force=true — verbatim. Expected: 200 with the message; the deployment is stopped.
        var deleted = await ExpectAsync(await client.DeleteAsync("/api/v1/models/tcm_diagnosis_v2?force=true"), HttpStatusCode.OK);
        var message = shape == ModelsResourceShape.Registry ? Seed002Envelope.Ok(deleted).GetProperty("message") : deleted.GetProperty("message");
        Assert.Contains("forced", message.GetString(), StringComparison.Ordinal);
        await ExpectAsync(await client.GetAsync("/api/v1/models/tcm_diagnosis_v2"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        // Its status is gone with it (the stopped deployment's record is not a model's status).
        AssertErrorShape(await ExpectAsync(await client.GetAsync("/api/v1/models/tcm_diagnosis_v2/status"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND"), "MODEL_NOT_FOUND");
    }

    // tcm_diagnosis_v2 through seed 002: create, then versions 2.0.0 and 2.1.0 (generated MLPs) by multipart upload.
    private static async Task PrepareModelAsync(HttpClient client)
    {
        await ExpectAsync(await client.PostAsync("/api/v1/models",
            Json("""{"model_id": "tcm_diagnosis_v2", "name": "TCM diagnosis (generated MLP)", "framework": "onnx", "model_type": "tcm_diagnosis"}""")), HttpStatusCode.Created);
        foreach (var (version, seed) in new[] { ("2.0.0", 20), ("2.1.0", 21) })
        {
            using var form = new MultipartFormDataContent();
            var file = new ByteArrayContent(DemoModels.CreateMlp(new MlpSpec { Seed = seed }));
            file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(new StringContent(version), "version");
            form.Add(file, "file", "model.onnx");
            await ExpectAsync(await client.PostAsync("/api/v1/models/tcm_diagnosis_v2/upload", form), HttpStatusCode.OK);
        }
    }

    private static float[] Logits(JsonElement result) =>
        [.. result.GetProperty("output_data").GetProperty("logits").GetProperty("data").EnumerateArray().Select(v => v.GetSingle())];

    /// <summary>Seed 000's error shape: <c>{"status": "error", "error": {code, message, details}, "timestamp"}</c>.</summary>
    public static void AssertErrorShape(JsonElement body, string code)
    {
        Assert.Equal("error", body.GetProperty("status").GetString());
        var error = body.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.Object, error.GetProperty("details").ValueKind);
        Assert.True(DateTimeOffset.TryParse(body.GetProperty("timestamp").GetString(), CultureInfo.InvariantCulture, out _));
    }
}
