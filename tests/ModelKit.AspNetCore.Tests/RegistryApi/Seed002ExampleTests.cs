using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using ModelKit.ModelGenerator;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.RegistryApi;

/// <summary>
/// Seed 002's examples (shared/seeds/002-registry-api.md), request bodies verbatim, over a real socket to the sample
/// server: create (201), list, get, upload (multipart), delete ("204 with a body" is answered 200 with that body).
/// </summary>
public sealed class Seed002ExampleTests(KestrelSampleServerFactory factory) : IClassFixture<KestrelSampleServerFactory>
{
    [Fact]
    public async Task Examples_CreateListGetUploadDelete_AnswerAsDocumented()
    {
        var client = factory.CreateClient();

        // 1. POST /api/v1/models — verbatim. Expected: 201 {"code": 0, "message", "data": {model_id, uuid, name, framework,
        // status: "uploading", created_at}}; model_id is ModelKit's string id (derived from the name), uuid a name-based
        // UUID of it. framework "pytorch" is kept: the registry holds any framework's files (served only where a backend runs it).
        var created = Seed002Envelope.Ok(await ExpectAsync(await client.PostAsync("/api/v1/models", Json("""
            {
              "name": "ResNet-50",
              "description": "图像分类模型",
              "framework": "pytorch",
              "workspace_id": 456
            }
            """)), HttpStatusCode.Created));
        var model = created.GetProperty("data");
        var id = model.GetProperty("model_id").GetString()!;
        Assert.Equal("resnet-50", id);
        Assert.Equal("946e8045-dfd0-5181-8880-11b769f6c539", model.GetProperty("uuid").GetString()); // uuid5(ModelKit's namespace, "resnet-50")
        Assert.Equal(("ResNet-50", "pytorch", "uploading", 456),
            (model.GetProperty("name").GetString(), model.GetProperty("framework").GetString(), model.GetProperty("status").GetString(), model.GetProperty("workspace_id").GetInt32()));
        Assert.True(DateTimeOffset.TryParse(model.GetProperty("created_at").GetString(), CultureInfo.InvariantCulture, out _));

        // 4. POST /api/v1/models/{model_id}/upload, multipart/form-data. Expected: 200 {"code": 0, "message"} (ModelKit adds
        // the stored version in data). A framework without a backend here is stored as sent, unchecked.
        var bytes = DemoModels.CreateMlp(new MlpSpec { Seed = 2 });
        using (var form = new MultipartFormDataContent())
        {
            var file = new ByteArrayContent(bytes);
            file.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(file, "file", "resnet50.pt");
            var uploaded = Seed002Envelope.Ok(await ExpectAsync(await client.PostAsync($"/api/v1/models/{id}/upload", form), HttpStatusCode.OK));
            Assert.False(string.IsNullOrEmpty(uploaded.GetProperty("message").GetString()));
            Assert.Equal(("ready", bytes.Length), (uploaded.GetProperty("data").GetProperty("status").GetString(), uploaded.GetProperty("data").GetProperty("size_bytes").GetInt32()));
        }

        // 2. GET /api/v1/models?page=1&page_size=20&framework=pytorch — the documented query parameters. Expected: 200 with
        // data.items (model_id, name, framework, total_size, status, created_at) and data.pagination (page, page_size, total, total_pages).
        var list = Seed002Envelope.Data(await ExpectAsync(await client.GetAsync("/api/v1/models?page=1&page_size=20&framework=pytorch"), HttpStatusCode.OK));
        var item = Assert.Single(list.GetProperty("items").EnumerateArray());
        Assert.Equal((id, "ResNet-50", "pytorch", (long)bytes.Length, "ready"),
            (item.GetProperty("model_id").GetString(), item.GetProperty("name").GetString(), item.GetProperty("framework").GetString(),
             item.GetProperty("total_size").GetInt64(), item.GetProperty("status").GetString()));
        Assert.True(item.TryGetProperty("created_at", out _));
        var pagination = list.GetProperty("pagination");
        Assert.Equal((1, 20, 1, 1), (pagination.GetProperty("page").GetInt32(), pagination.GetProperty("page_size").GetInt32(),
            pagination.GetProperty("total").GetInt32(), pagination.GetProperty("total_pages").GetInt32()));

        // 3. GET /api/v1/models/{model_id}. Expected: 200 with model_id, uuid (the same as at creation), description,
        // storage_path (the registry's logical key, not a file path), total_size, status.
        var details = Seed002Envelope.Data(await ExpectAsync(await client.GetAsync($"/api/v1/models/{id}"), HttpStatusCode.OK));
        Assert.Equal(model.GetProperty("uuid").GetString(), details.GetProperty("uuid").GetString());
        Assert.Equal(("图像分类模型", $"models/{id}", (long)bytes.Length, "ready"),
            (details.GetProperty("description").GetString(), details.GetProperty("storage_path").GetString(), details.GetProperty("total_size").GetInt64(), details.GetProperty("status").GetString()));
        Assert.DoesNotContain(factory.DataDirectory, details.GetRawText(), StringComparison.Ordinal);

        // Stored is not servable: deploying it (seed 000) is 400 INVALID_MODEL_CONFIG, since no backend here runs pytorch files.
        var deploy = await ExpectAsync(await client.PostAsync("/api/v1/models/deploy", Json($$$"""{"config": {"model_id": "{{{id}}}"}}""")), HttpStatusCode.BadRequest, "INVALID_MODEL_CONFIG");
        Assert.Contains("registered as 'pytorch'", deploy.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);

        // 5. DELETE /api/v1/models/{model_id}. Expected: the documented "204 with a body" is answered 200 with that body:
        // {"code": 0, "message"}. Afterwards the model is gone: 404 in the same envelope with code 404, error MODEL_NOT_FOUND.
        var deleted = Seed002Envelope.Ok(await ExpectAsync(await client.DeleteAsync($"/api/v1/models/{id}"), HttpStatusCode.OK));
        Assert.False(deleted.TryGetProperty("data", out _));
        Seed002Envelope.AssertError(await ExpectAsync(await client.GetAsync($"/api/v1/models/{id}"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND"), 404);
    }

    [Fact]
    public async Task Uuid_IsANameBasedUuidOfTheId_StableAcrossRestarts()
    {
        // uuid5(ModelKit's namespace 826fcbc4-72e4-4026-a73a-fe0474f6a3c1, "demo-mlp"), as Python's uuid.uuid5 computes it:
        // nothing is stored for it, so every server and every restart gives the same one.
        var demo = Seed002Envelope.Data(await ExpectAsync(await factory.CreateClient().GetAsync("/api/v1/models/demo-mlp"), HttpStatusCode.OK));
        Assert.Equal("4e4c56f6-f9ef-5470-8911-6315cc8f6f77", demo.GetProperty("uuid").GetString());
    }

    [Fact]
    public async Task Errors_AreTheEnvelopeWithTheStatusAsCode_AndTheErrorCode()
    {
        var client = factory.CreateClient();
        Seed002Envelope.AssertError(await ExpectAsync(await client.PostAsync("/api/v1/models", Json("""{"description": "no name"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT"), 400);
        Seed002Envelope.AssertError(await ExpectAsync(await client.GetAsync("/api/v1/models?page=0"), HttpStatusCode.BadRequest, "INVALID_INPUT"), 400);
        Seed002Envelope.AssertError(await ExpectAsync(await client.GetAsync("/api/v1/models?page_size=5000"), HttpStatusCode.BadRequest, "INVALID_INPUT"), 400);
        Seed002Envelope.AssertError(await ExpectAsync(await client.GetAsync("/api/v1/models?status=sleeping"), HttpStatusCode.BadRequest, "INVALID_INPUT"), 400);
        await ExpectAsync(await client.PostAsync("/api/v1/models", Json("""{"model_id": "twice", "name": "Twice"}""")), HttpStatusCode.Created);
        Seed002Envelope.AssertError(await ExpectAsync(await client.PostAsync("/api/v1/models", Json("""{"model_id": "twice", "name": "Twice"}""")), HttpStatusCode.Conflict, "MODEL_ALREADY_EXISTS"), 409);
        Seed002Envelope.AssertError(await ExpectAsync(await client.DeleteAsync("/api/v1/models/ghost"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND"), 404);

        // Both vocabularies of status: the registry's (ready) and the deployments' (running), on the same list.
        var ready = Seed002Envelope.Data(await ExpectAsync(await client.GetAsync("/api/v1/models?status=ready"), HttpStatusCode.OK)).GetProperty("items");
        Assert.Contains("demo-mlp", ready.EnumerateArray().Select(i => i.GetProperty("model_id").GetString()));
        Assert.DoesNotContain("twice", ready.EnumerateArray().Select(i => i.GetProperty("model_id").GetString()));
        var uploading = Seed002Envelope.Data(await ExpectAsync(await client.GetAsync("/api/v1/models?status=uploading"), HttpStatusCode.OK)).GetProperty("items");
        Assert.Contains("twice", uploading.EnumerateArray().Select(i => i.GetProperty("model_id").GetString()));
        var stopped = Seed002Envelope.Data(await ExpectAsync(await client.GetAsync("/api/v1/models?status=stopped"), HttpStatusCode.OK)).GetProperty("items");
        Assert.Contains("twice", stopped.EnumerateArray().Select(i => i.GetProperty("model_id").GetString())); // never deployed
        Assert.DoesNotContain("demo-mlp", stopped.EnumerateArray().Select(i => i.GetProperty("model_id").GetString()));
    }
}

/// <summary>Seed 002's envelope in tests.</summary>
internal static class Seed002Envelope
{
    /// <summary>Asserts <c>code</c> 0 and a message; returns the body.</summary>
    public static JsonElement Ok(JsonElement body)
    {
        Assert.Equal(0, body.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        return body;
    }

    /// <summary>Asserts <c>code</c> 0 and message <c>success</c> (reads); returns <c>data</c>.</summary>
    public static JsonElement Data(JsonElement body)
    {
        Assert.Equal((0, "success"), (body.GetProperty("code").GetInt32(), body.GetProperty("message").GetString()));
        return body.GetProperty("data");
    }

    /// <summary>An error: the same envelope, <c>code</c> the HTTP status, <c>data</c> null, <c>error</c> the code.</summary>
    public static void AssertError(JsonElement body, int status)
    {
        Assert.Equal(status, body.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.Null, body.GetProperty("data").ValueKind);
        Assert.Equal(JsonValueKind.String, body.GetProperty("error").ValueKind);
    }
}
