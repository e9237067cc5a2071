using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>A bug in any endpoint of a ModelKit group: the client gets a 500 in the group's error shape, the log gets the exception.</summary>
public sealed class UnexpectedErrorTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Fact]
    public async Task UnexpectedException_Is500InternalError_WithTheRequestId_AndIsLogged()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        var logs = new FakeLoggerProvider();
        builder.Logging.ClearProviders().AddProvider(logs);
        builder.Services.AddModelKit(o => o.DataDirectory = _dir.Path).AddOnnxRuntime().AddHttpApi(o => o.Enabled = false);
        await using var app = builder.Build();
        app.MapRegistryApi().MapGet("/api/v1/boom", string () => throw new InvalidOperationException("a secret internal detail"));
        app.MapLlmManagerApi();
        app.MapOpenInferenceProtocol().MapGet("/boom", string () => throw new InvalidOperationException("a secret internal detail"));
        await app.StartAsync();
        var client = app.GetTestClient();

        var problem = await ExpectAsync(await client.GetAsync("/api/v1/boom"), HttpStatusCode.InternalServerError, "INTERNAL_ERROR");
        var requestId = problem.GetProperty("request_id").GetString()!;
        Assert.Contains(requestId, problem.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret", problem.GetRawText(), StringComparison.Ordinal);
        var logged = Assert.Single(logs.Collector.GetSnapshot(), r => r.Level == LogLevel.Error);
        Assert.Contains(requestId, logged.Message, StringComparison.Ordinal);
        Assert.Equal("a secret internal detail", logged.Exception?.Message);

        var oip = await client.GetAsync("/v2/boom");
        Assert.Equal(HttpStatusCode.InternalServerError, oip.StatusCode);
        Assert.Contains("\"code\":\"INTERNAL_ERROR\"", await oip.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // The server keeps serving.
        await ExpectAsync(await client.GetAsync("/health/live"), HttpStatusCode.OK);
    }

    public void Dispose() => _dir.Dispose();
}
