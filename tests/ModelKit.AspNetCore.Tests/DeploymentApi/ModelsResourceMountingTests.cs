using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Tests.RegistryApi;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.DeploymentApi;

/// <summary>
/// Seeds 000 and 002 mounted alone or together: each alone answers the models resource's list, get and delete in its own
/// shapes; together at one prefix the first mapped takes them (no ambiguous routes), and the shared root's framework
/// answers (404) follow the seed whose operation the path names.
/// </summary>
public sealed class ModelsResourceMountingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task EachSeedAlone_AnswersListGetAndDeleteInItsOwnShapes_AndBothAtOnePrefixDoNotCollide()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddModelKit(o => o.DataDirectory = _dir.Path).AddOnnxRuntime().AddHttpApi(o => o.Enabled = false);
        await using var app = builder.Build();
        app.MapDeploymentApi("/deployments-only");
        app.MapRegistryApi("/registry-only");
        app.MapRegistryApi("/both");
        app.MapDeploymentApi("/both");
        await app.StartAsync();
        var client = app.GetTestClient();

        await ExpectAsync(await client.PostAsync("/registry-only/api/v1/models", Json("""{"model_id": "m", "name": "M"}""")), HttpStatusCode.Created);

        // Seed 000 alone: a bare array, a bare object, {"message"}; errors {"status": "error", …}.
        var list = await ExpectAsync(await client.GetAsync("/deployments-only/api/v1/models?status=stopped&limit=10"), HttpStatusCode.OK);
        Assert.Equal(JsonValueKind.Array, list.ValueKind);
        Assert.Equal(("m", "stopped"), (list[0].GetProperty("model_id").GetString(), list[0].GetProperty("status").GetString()));
        var model = await ExpectAsync(await client.GetAsync("/deployments-only/api/v1/models/m"), HttpStatusCode.OK);
        Assert.Equal("M", model.GetProperty("name").GetString());
        Seed000Flow.AssertErrorShape(await ExpectAsync(await client.GetAsync("/deployments-only/api/v1/models/ghost"), HttpStatusCode.NotFound, "MODEL_NOT_FOUND"), "MODEL_NOT_FOUND");
        Seed000Flow.AssertErrorShape(await ExpectAsync(await client.GetAsync("/deployments-only/api/v1/nothing"), HttpStatusCode.NotFound, "NOT_FOUND"), "NOT_FOUND");

        // Seed 002 alone: its envelope.
        var page = Seed002Envelope.Data(await ExpectAsync(await client.GetAsync("/registry-only/api/v1/models"), HttpStatusCode.OK));
        Assert.Equal("m", page.GetProperty("items")[0].GetProperty("model_id").GetString());
        Seed002Envelope.AssertError(await ExpectAsync(await client.GetAsync("/registry-only/api/v1/models/m/status"), HttpStatusCode.NotFound, "NOT_FOUND"), 404);

        // Both at one prefix, seed 002 first: it answers list, get and delete; the deployment operations answer in seed 000's shapes.
        Seed002Envelope.Data(await ExpectAsync(await client.GetAsync("/both/api/v1/models"), HttpStatusCode.OK));
        Seed000Flow.AssertErrorShape(await ExpectAsync(await client.GetAsync("/both/api/v1/models/m/status"), HttpStatusCode.NotFound, "DEPLOYMENT_NOT_FOUND"), "DEPLOYMENT_NOT_FOUND");
        Seed000Flow.AssertErrorShape(await ExpectAsync(
            await client.SendAsync(new HttpRequestMessage(HttpMethod.Patch, "/both/api/v1/models/m/scale")), HttpStatusCode.MethodNotAllowed, "METHOD_NOT_ALLOWED"), "METHOD_NOT_ALLOWED");
        Seed002Envelope.AssertError(await ExpectAsync(await client.GetAsync("/both/api/v1/models/m/nothing"), HttpStatusCode.NotFound, "NOT_FOUND"), 404);
        var deleted = await ExpectAsync(await client.DeleteAsync("/both/api/v1/models/m"), HttpStatusCode.OK);
        Assert.Equal(0, deleted.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task OpenApi_DocumentsBothSeedsShapes_WithOperationIds()
    {
        await using var factory = new SampleServerFactory();
        var document = JsonDocument.Parse(await factory.CreateClient().GetStringAsync("/openapi/v1.json")).RootElement;
        var schemas = document.GetProperty("components").GetProperty("schemas");
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(p => p.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("operationId", out _)))
            .ToDictionary(o => o.Value.GetProperty("operationId").GetString()!, o => o.Value);

        JsonElement Properties(JsonElement operation, string status)
        {
            var schema = operation.GetProperty("responses").GetProperty(status).GetProperty("content").EnumerateObject().First().Value.GetProperty("schema");
            if (schema.TryGetProperty("items", out var items)) schema = items;
            return schemas.GetProperty(schema.GetProperty("$ref").GetString()!.Split('/')[^1]).GetProperty("properties");
        }

        foreach (var id in new[] { "Seed000_Deploy", "Seed000_Status", "Seed000_Inference", "Seed000_BatchInference", "Seed000_Scale", "Seed000_Update",
                     "Seed002_CreateModel", "Seed002_ListModels", "Seed002_GetModel", "Seed002_Upload", "Seed002_DeleteModel" })
        {
            Assert.True(operations.ContainsKey(id), $"{id} is missing");
        }

        Assert.True(Properties(operations["Seed000_Deploy"], "202").TryGetProperty("deployment_id", out _));
        var status = Properties(operations["Seed000_Status"], "200");
        foreach (var field in new[] { "model_id", "name", "version", "status", "replicas", "endpoints", "created_at", "updated_at", "resource_usage" })
        {
            Assert.True(status.TryGetProperty(field, out _), field);
        }

        var error = Properties(operations["Seed000_Status"], "404");
        Assert.True(error.TryGetProperty("status", out _) && error.TryGetProperty("error", out _) && error.TryGetProperty("timestamp", out _), error.GetRawText());
        Assert.True(Properties(operations["Seed000_BatchInference"], "200").TryGetProperty("output_data", out _));
        var created = Properties(operations["Seed002_CreateModel"], "201");
        Assert.True(created.TryGetProperty("code", out _) && created.TryGetProperty("data", out _), created.GetRawText());
        var registryError = Properties(operations["Seed002_GetModel"], "404");
        Assert.True(registryError.TryGetProperty("error", out _) && registryError.TryGetProperty("data", out _), registryError.GetRawText());
    }

    public void Dispose() => _dir.Dispose();
}
