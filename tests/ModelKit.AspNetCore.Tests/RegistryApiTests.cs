using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using ModelKit.ModelGenerator;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>Models through HTTP: create, upload (multipart, streamed), versions, update, rolling update, delete.</summary>
public sealed class RegistryApiTests : IClassFixture<RegistryApiTests.SmallUploadsFactory>
{
    private readonly SmallUploadsFactory _factory;
    private readonly HttpClient _client;

    public RegistryApiTests(SmallUploadsFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    /// <summary>The sample server with a 4 MiB artifact limit (the demo encoder is 2.3 MB), so that "too large" is cheap to provoke.</summary>
    public sealed class SmallUploadsFactory : SampleServerFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:MaxArtifactBytes", (4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture));
            builder.UseSetting("ModelKit:Http:MaxJsonBodyBytes", "100000");
        }
    }

    private static MultipartFormDataContent Upload(byte[] bytes, string fileName, string? version = null)
    {
        var form = new MultipartFormDataContent();
        if (version is not null) form.Add(new StringContent(version), "version");
        var file = new ByteArrayContent(bytes);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", fileName);
        return form;
    }

    private async Task<string[]> VersionsAsync(string modelId)
    {
        var versions = await _client.GetFromJsonAsync<JsonElement>($"/api/v1/models/{modelId}/versions");
        Assert.Equal(0, versions.GetProperty("code").GetInt32());
        return [.. versions.GetProperty("data").GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()!)];
    }

    [Fact]
    public async Task OrgNameIds_CreatedOnSeed002_AreReachedEscaped_ThroughTheLinksItGives()
    {
        var created = await ExpectAsync(await _client.PostAsync("/api/v1/models", Json("""{"model_id": "acme/tiny-mlp", "name": "Acme tiny MLP", "framework": "onnx"}""")), HttpStatusCode.Created);
        var upload = created.GetProperty("data").GetProperty("upload_url").GetString()!;
        Assert.EndsWith("/api/v1/models/acme%2Ftiny-mlp/upload", upload, StringComparison.Ordinal);

        using var form = new MultipartFormDataContent();
        var file = new ByteArrayContent(DemoModels.CreateMlp());
        file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(file, "file", "model.onnx");
        await ExpectAsync(await _client.PostAsync(upload, form), HttpStatusCode.OK);

        var model = await ExpectAsync(await _client.GetAsync("/api/v1/models/acme%2Ftiny-mlp"), HttpStatusCode.OK);
        Assert.Equal("acme/tiny-mlp", model.GetProperty("data").GetProperty("model_id").GetString());
        await ExpectAsync(await _client.PostAsync("/api/v1/models/acme%2Ftiny-mlp/inference", Json($$"""{"input_data": [{{string.Join(",", Enumerable.Repeat("[" + string.Join(",", Enumerable.Repeat("0.5", 64)) + "]", 1))}}]}""")), HttpStatusCode.OK);
        await ExpectAsync(await _client.DeleteAsync("/api/v1/models/acme%2Ftiny-mlp"), HttpStatusCode.OK);
        await ExpectAsync(await _client.GetAsync("/api/v1/models/acme%2Ftiny-mlp"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
    }

    [Fact]
    public async Task CreateUploadDeployRollAndDelete_ThroughHttp()
    {
        var created = await ExpectAsync(await _client.PostAsync("/api/v1/models",
            Json("""{"model_id": "resnet-ish", "name": "ResNet-50", "description": "图像分类模型", "framework": "onnx", "model_type": "classification", "workspace_id": 456}""")),
            HttpStatusCode.Created);
        Assert.Equal((0, "Model created"), (created.GetProperty("code").GetInt32(), created.GetProperty("message").GetString()));
        var data = created.GetProperty("data");
        Assert.Equal(("resnet-ish", "uploading", 456), (data.GetProperty("model_id").GetString(), data.GetProperty("status").GetString(), data.GetProperty("workspace_id").GetInt32()));
        Assert.Equal("dd2db4c5-a683-567b-b35a-49f997922564", data.GetProperty("uuid").GetString()); // uuid5(ModelKit's namespace, "resnet-ish"), as Python's uuid.uuid5 computes it
        Assert.EndsWith("/api/v1/models/resnet-ish/upload", data.GetProperty("upload_url").GetString(), StringComparison.Ordinal);
        await ExpectAsync(await _client.PostAsync("/api/v1/models", Json("""{"model_id": "resnet-ish", "name": "again"}""")), HttpStatusCode.Conflict, "MODEL_ALREADY_EXISTS");

        var v1 = (await ExpectAsync(await _client.PostAsync("/api/v1/models/resnet-ish/upload", Upload(DemoModels.CreateMlp(), "model.onnx", "1.0")), HttpStatusCode.OK)).GetProperty("data");
        Assert.Equal(("1.0", "ready"), (v1.GetProperty("version").GetString(), v1.GetProperty("status").GetString()));
        Assert.Equal(64, v1.GetProperty("sha256").GetString()!.Length);
        Assert.Equal("x", v1.GetProperty("inputs")[0].GetProperty("name").GetString());
        var v2 = (await ExpectAsync(await _client.PostAsync("/api/v1/models/resnet-ish/upload?version=2.0", Upload(DemoModels.CreateMlp(new MlpSpec { Seed = 99 }), "model.onnx")), HttpStatusCode.OK)).GetProperty("data");
        Assert.Equal("2.0", v2.GetProperty("version").GetString());
        Assert.Equal(["1.0", "2.0"], await VersionsAsync("resnet-ish"));

        await ExpectAsync(await _client.PutAsync("/api/v1/models/resnet-ish", Json("""{"default_version": "1.0", "tags": ["vision"], "favorite": true}""")), HttpStatusCode.OK);
        await ExpectAsync(await _client.PostAsync("/api/v1/models/deploy", Json("""{"config": {"model_id": "resnet-ish", "scaling_config": {"min_replicas": 1, "max_replicas": 2}}}""")), HttpStatusCode.Accepted);
        var running = await _factory.WaitUntilRunningAsync(_client, "resnet-ish");
        Assert.Equal("1.0", running.GetProperty("version").GetString());

        // Seed 000's update: a new version is rolled in.
        var updated = await ExpectAsync(await _client.PutAsync("/api/v1/models/resnet-ish", Json("""{"config": {"version": "2.0", "scaling_config": {"max_replicas": 3}}}""")), HttpStatusCode.OK);
        Assert.Contains("now serves version 2.0", updated.GetProperty("message").GetString(), StringComparison.Ordinal);
        var after = await _factory.WaitUntilRunningAsync(_client, "resnet-ish");
        Assert.Equal(("2.0", 3), (after.GetProperty("version").GetString(), after.GetProperty("replicas").GetProperty("max").GetInt32()));
        await ExpectAsync(await _client.PutAsync("/api/v1/models/resnet-ish", Json("""{"config": {"version": "9.9"}}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");

        // One version: the served one is refused while deployed, the other one goes and the default stays served.
        var served = await ExpectAsync(await _client.DeleteAsync("/api/v1/models/resnet-ish/versions/2.0"), HttpStatusCode.Conflict, "CONFLICT");
        Assert.Contains("deployment", served.GetProperty("message").GetString(), StringComparison.Ordinal);
        var gone = (await ExpectAsync(await _client.DeleteAsync("/api/v1/models/resnet-ish/versions/1.0"), HttpStatusCode.OK)).GetProperty("data");
        Assert.Equal(["2.0"], gone.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()));
        Assert.Equal("2.0", gone.GetProperty("default_version").GetString());
        Assert.Equal(["2.0"], await VersionsAsync("resnet-ish"));
        await ExpectAsync(await _client.DeleteAsync("/api/v1/models/resnet-ish/versions/1.0"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");

        var refused = await ExpectAsync(await _client.DeleteAsync("/api/v1/models/resnet-ish"), HttpStatusCode.Conflict, "CONFLICT");
        Assert.Contains("undeploy it first or pass force=true", refused.GetProperty("message").GetString(), StringComparison.Ordinal);
        var deleted = await ExpectAsync(await _client.DeleteAsync("/api/v1/models/resnet-ish?force=true"), HttpStatusCode.OK);
        Assert.Equal(0, deleted.GetProperty("code").GetInt32());
        await ExpectAsync(await _client.GetAsync("/api/v1/models/resnet-ish"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
    }

    [Fact]
    public async Task BadUploads_AreRefusedAndLeaveNothingBehind()
    {
        await ExpectAsync(await _client.PostAsync("/api/v1/models", Json("""{"model_id": "target", "name": "Target"}""")), HttpStatusCode.Created);
        var good = await ExpectAsync(await _client.PostAsync("/api/v1/models/target/upload", Upload(DemoModels.CreateMlp(), "m.onnx")), HttpStatusCode.OK);
        Assert.Equal("1", good.GetProperty("data").GetProperty("version").GetString());

        var corrupt = await ExpectAsync(await _client.PostAsync("/api/v1/models/target/upload", Upload(Encoding.UTF8.GetBytes("this is not an ONNX model"), "m.onnx")),
            HttpStatusCode.BadRequest, "INVALID_MODEL_CONFIG");
        Assert.False(string.IsNullOrEmpty(corrupt.GetProperty("message").GetString()));
        await ExpectAsync(await _client.PostAsync("/api/v1/models/target/upload", Upload(DemoModels.CreateMlp(), "../../evil.onnx")), HttpStatusCode.BadRequest, "INVALID_MODEL_CONFIG");
        var big = new byte[(4 << 20) + 4096];
        await ExpectAsync(await _client.PostAsync("/api/v1/models/target/upload", Upload(big, "big.onnx")), HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");
        // The upload endpoint declares multipart/form-data (OpenAPI), so another body type is 415 before it runs.
        await ExpectAsync(await _client.PostAsync("/api/v1/models/target/upload", Json("{}")), HttpStatusCode.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE");
        await ExpectAsync(await _client.PostAsync("/api/v1/models/ghost/upload", Upload(DemoModels.CreateMlp(), "m.onnx")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");

        Assert.Equal(["1"], await VersionsAsync("target"));
        var leftovers = Directory.GetFiles(Path.Combine(_factory.DataDirectory, "tmp"));
        Assert.Empty(leftovers);
        await ExpectAsync(await _client.PostAsync("/api/v1/models", Json("""{"description": "no name"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");

        // A JSON body over ModelKit:Http:MaxJsonBodyBytes (100 kB here) is refused before it is read.
        var huge = "{\"input_data\": [[" + string.Join(",", Enumerable.Repeat("0.125", 40_000)) + "]]}";
        var tooBig = await ExpectAsync(await _client.PostAsync("/api/v1/models/target/inference", Json(huge)), HttpStatusCode.RequestEntityTooLarge, "PAYLOAD_TOO_LARGE");
        Assert.Contains("MaxJsonBodyBytes", tooBig.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
