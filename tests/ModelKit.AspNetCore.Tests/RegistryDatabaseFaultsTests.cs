using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Hosting;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>
/// The sample server with its registry in PostgreSQL (ModelKit:Registry:PostgreSql) while that database goes away: the
/// deployed models keep answering, every call that needs the registry answers 503 REGISTRY_UNAVAILABLE in its surface's
/// shape with a Retry-After, and everything works again once the database is back; a server started while the
/// database is down starts anyway and registers its demo models once it can.
/// </summary>
public sealed class RegistryDatabaseFaultsTests(PostgresServer database) : IClassFixture<PostgresServer>
{
    private static readonly string MlpInput = $$"""{"input_data": [[{{string.Join(",", Enumerable.Repeat("0.5", 64))}}]]}""";

    private sealed class PostgresSampleServerFactory(string connectionString) : SampleServerFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Registry:PostgreSql", connectionString);
        }
    }

    private async Task<string> NewDatabaseAsync()
    {
        await using var source = await database.CreateDatabaseAsync();
        return source.ConnectionString;
    }

    private async Task ExpectRegistryUnavailableAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        await ExpectAsync(response, HttpStatusCode.ServiceUnavailable, "REGISTRY_UNAVAILABLE");
        Assert.True(int.Parse(Assert.Single(response.Headers.GetValues("Retry-After")), CultureInfo.InvariantCulture) >= 1);
        Assert.DoesNotContain(database.Port.ToString(CultureInfo.InvariantCulture), text, StringComparison.Ordinal);
        Assert.DoesNotContain("Npgsql", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task DatabaseDown_DeployedModelsKeepServing_RegistryCallsAnswer503_AndEverythingWorksOnceItIsBack()
    {
        await using var factory = new PostgresSampleServerFactory(await NewDatabaseAsync());
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");

        await database.StopAsync();
        try
        {
            for (var i = 0; i < 3; i++) await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", Json(MlpInput)), HttpStatusCode.OK);
            await ExpectAsync(await client.PostAsync("/v2/models/demo-mlp/infer", Json($$"""{"inputs": [{"name": "x", "shape": [1, 64], "datatype": "FP32", "data": [{{string.Join(",", Enumerable.Repeat("0.5", 64))}}]}]}""")), HttpStatusCode.OK);

            await ExpectRegistryUnavailableAsync(await client.GetAsync("/api/v1/models"));
            await ExpectRegistryUnavailableAsync(await client.GetAsync("/api/v1/models/demo-mlp"));
            var create = await client.PostAsync("/api/v1/models", Json("""{"name": "Later", "framework": "onnx"}"""));
            var body = await ExpectAsync(create, HttpStatusCode.ServiceUnavailable, "REGISTRY_UNAVAILABLE");
            RegistryApi.Seed002Envelope.AssertError(body, 503); // seed 002's envelope, code = the HTTP status
            await ExpectRegistryUnavailableAsync(await client.GetAsync("/models")); // the gateway API (seed 001)
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        }
        finally
        {
            await database.StartAsync();
        }

        // The same requests succeed once the database is back, on the connections the server opens afresh.
        await ExpectAsync(await client.PostAsync("/api/v1/models", Json("""{"name": "Later", "framework": "onnx"}""")), HttpStatusCode.Created);
        var list = await (await client.GetAsync("/api/v1/models")).Content.ReadAsStringAsync();
        Assert.Contains("later", list, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task DatabaseDownAtStart_ServerStartsAndAnswers503_ThenRegistersItsDemoModelsOnceTheDatabaseIsBack()
    {
        var connectionString = await NewDatabaseAsync();
        await database.StopAsync();
        PostgresSampleServerFactory factory;
        HttpClient client;
        try
        {
            factory = new PostgresSampleServerFactory(connectionString);
            client = factory.CreateClient(); // starts the host: no exception, no crash
            await ExpectRegistryUnavailableAsync(await client.GetAsync("/api/v1/models"));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/health/ready")).StatusCode);
        }
        finally
        {
            await database.StartAsync();
        }

        await using (factory)
        {
            await factory.WaitUntilRunningAsync(client, "demo-mlp"); // the seeder tries again every 5 s
            await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", Json(MlpInput)), HttpStatusCode.OK);
        }
    }
}
