using System.Net;
using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>
/// The sample server as shipped, in a process of its own: its runtimeconfig turns ASP.NET Core's single-scheme default
/// off (SuppressAutoDefaultScheme), which the in-process tests' hosts do not have, so ModelKit's keys are checked only in
/// the surfaces' filter. Keys are still accepted and refused as the seeds say.
/// </summary>
public sealed class SampleProcessKeysTests
{
    [Fact]
    public async Task ShippedSample_ChecksKeysInTheFilter_AcceptsAndRefusesAsTheSeedsSay()
    {
        var runtimeConfig = File.ReadAllText(Path.ChangeExtension(typeof(Program).Assembly.Location, ".runtimeconfig.json"));
        Assert.Contains("\"Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme\": true", runtimeConfig, StringComparison.Ordinal);

        using var data = new TempDirectory();
        using var server = SampleServerProcess.Start(data.Path, "--ModelKit:ServeChatModel=false");
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(1) };
        client.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
        await server.WaitUntilServingAsync(client, "demo-mlp");
        client.DefaultRequestHeaders.Remove("X-API-Key");

        HttpRequestMessage Infer(string? key)
        {
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/models/demo-mlp/inference") { Content = Json($"{{\"input_data\": [[{string.Join(", ", Enumerable.Repeat("0.5", 64))}]]}}") };
            if (key is not null) request.Headers.Add("X-API-Key", key);
            return request;
        }

        var answer = await ExpectAsync(await client.SendAsync(Infer(SampleServerFactory.AdminKey)), HttpStatusCode.OK);
        Assert.Equal(10, answer.GetProperty("output_data").GetProperty("logits").GetProperty("data").GetArrayLength());
        DeploymentApi.Seed000Flow.AssertErrorShape(await ExpectAsync(await client.SendAsync(Infer(null)), HttpStatusCode.Unauthorized, "UNAUTHORIZED"), "UNAUTHORIZED");
        DeploymentApi.Seed000Flow.AssertErrorShape(await ExpectAsync(await client.SendAsync(Infer("not-a-key-of-this-server")), HttpStatusCode.Unauthorized, "UNAUTHORIZED"), "UNAUTHORIZED");
        DeploymentApi.Seed000Flow.AssertErrorShape(await ExpectAsync(await client.SendAsync(Infer(SampleServerFactory.ReadOnlyKey)), HttpStatusCode.Forbidden, "FORBIDDEN"), "FORBIDDEN");

        // Seed 001's bearer form of the same key.
        using var models = new HttpRequestMessage(HttpMethod.Get, "/models");
        models.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", SampleServerFactory.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(models)).StatusCode);
    }
}
