using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests;

/// <summary>The sample server's Prometheus endpoint: ModelKit's instruments and ASP.NET Core's, open or behind a key.</summary>
public sealed class MetricsTests
{
    private static readonly string Row = JsonSerializer.Serialize(new[] { new float[64] });

    [Fact]
    public async Task Metrics_AfterAnInference_ShowModelKitsAndAspNetCoresInstruments()
    {
        await using var factory = new SampleServerFactory();
        var client = factory.CreateClient();
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        await ExpectAsync(await client.PostAsync("/api/v1/models/demo-mlp/inference", Json($$"""{"input_data": {{Row}}}""")), HttpStatusCode.OK);

        var anonymous = factory.CreateClient();
        anonymous.DefaultRequestHeaders.Remove("X-API-Key");
        var response = await anonymous.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Contains("modelkit_inference_duration", text, StringComparison.Ordinal);
        Assert.Contains("model=\"demo-mlp\"", text, StringComparison.Ordinal);
        Assert.Contains("http_server_request_duration", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_RequireKey_AreRefusedWithoutOne()
    {
        await using var factory = new KeyedMetricsFactory();
        var anonymous = factory.CreateClient();
        anonymous.DefaultRequestHeaders.Remove("X-API-Key");
        await ExpectAsync(await anonymous.GetAsync("/metrics"), HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(HttpStatusCode.OK, (await factory.CreateClient().GetAsync("/metrics")).StatusCode);
    }

    private sealed class KeyedMetricsFactory : SampleServerFactory
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("ModelKit:Metrics:RequireKey", "true");
            builder.UseSetting("ModelKit:DeployDemoModels", "false");
        }
    }
}
