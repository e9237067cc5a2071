using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace ModelKit.Tests;

/// <summary>The sample server on ASP.NET's test server, over its own data directory; its demo models are deployed at start.</summary>
public class SampleServerFactory : WebApplicationFactory<Program>
{
    private readonly TempDirectory _dir = new();

    /// <summary>The sample server's admin key (appsettings.json); every client this factory creates sends it.</summary>
    public const string AdminKey = "modelkit-sample-key-change-me";

    /// <summary>The sample server's read-only key.</summary>
    public const string ReadOnlyKey = "modelkit-sample-read-only-key";

    public string DataDirectory => _dir.Path;

    /// <summary>Whether the server registers and deploys the real all-MiniLM-L6-v2 (ModelKit:ServeMiniLm); off unless a test needs it.</summary>
    protected virtual bool ServeMiniLm => false;

    /// <summary>Whether the server registers and deploys its generated chat model (ModelKit:ServeChatModel); off unless a test needs it.</summary>
    protected virtual bool ServeChatModel => false;

    /// <summary>
    /// The model hub the server uses (ModelKit:Hub:Endpoint). By default a loopback port where nothing listens, so that no
    /// test reaches the internet: hub calls fail at once as SOURCE_UNAVAILABLE. <see cref="HubSampleServerFactory"/> points
    /// it at a local hub.
    /// </summary>
    protected virtual string HubEndpoint => "http://127.0.0.1:9/";

    protected override void ConfigureClient(HttpClient client)
    {
        base.ConfigureClient(client);
        client.DefaultRequestHeaders.Add("X-API-Key", AdminKey);
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("ModelKit:DataDirectory", _dir.Path);
        builder.UseSetting("ModelKit:ServeMiniLm", ServeMiniLm ? "true" : "false");
        builder.UseSetting("ModelKit:ServeChatModel", ServeChatModel ? "true" : "false");
        builder.UseSetting("ModelKit:Hub:Endpoint", HubEndpoint);
        builder.UseEnvironment("Development");
    }

    /// <summary>Waits until the demo deployment of <paramref name="modelId"/> reports running (through HTTP).</summary>
    public async Task<JsonElement> WaitUntilRunningAsync(HttpClient client, string modelId)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await client.GetAsync($"/api/v1/models/{modelId}/status");
            if (response.IsSuccessStatusCode)
            {
                var status = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (status.GetProperty("status").GetString() == "running") return status;
                if (status.GetProperty("status").GetString() == "failed") throw new InvalidOperationException("The deployment failed: " + status);
            }

            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{modelId} did not come up: {await response.Content.ReadAsStringAsync()}");
            await Task.Delay(50);
        }
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing) _dir.Dispose();
    }
}
