using System.Globalization;
using System.Net;
using System.Text;

namespace ModelKit.Tests;

[CollectionDefinition(nameof(LargeBodyMemoryTests), DisableParallelization = true)]
public sealed class LargeBodyMemoryCollection;

/// <summary>
/// Resident memory of the sample server (its own process, on Kestrel) after large JSON inference bodies (54 MB each, 94,000
/// rows of the demo MLP): inputs are read from the body straight into tensors (no document of them), at most two large
/// bodies are served at once, and ONNX Runtime's arena is shrunk after a large run. Runs alone, so that other tests do not
/// compete for the machine's memory meanwhile.
/// </summary>
[Collection(nameof(LargeBodyMemoryTests))]
public sealed class LargeBodyMemoryTests
{
    // Runs here grew it by 220–380 MiB (four at once vary most); before this work, by about 1.5 GiB.
    private const long BoundBytes = 600L << 20;

    [Fact]
    public async Task LargeBodies_OneByOneOrFourAtOnce_LeaveResidentMemoryWithinABound()
    {
        using var data = new TempDirectory();
        using var server = SampleServerProcess.Start(data.Path);
        using var client = new HttpClient { BaseAddress = server.Address, Timeout = TimeSpan.FromMinutes(5) };
        client.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
        await server.WaitUntilServingAsync(client, "demo-mlp");
        var body = LargeBody(rows: 94_000);
        Assert.True(body.Length > 50_000_000);

        async Task SendAsync()
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            using var response = await client.PostAsync("/api/v1/models/demo-mlp/inference", content);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }

        await SendAsync(); // the first one sizes the pools and the arena
        var baseline = server.ResidentBytes();

        for (var i = 0; i < 2; i++) await SendAsync();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SendAsync()));
        var after = server.ResidentBytes();

        // Before: one such body kept ~0.5 GB, four at once ~2 GB more.
        Assert.True(after - baseline < BoundBytes, $"the server's resident memory grew {(after - baseline) >> 20} MiB (from {baseline >> 20} MiB) over six more large requests");
    }

    private static byte[] LargeBody(int rows)
    {
        var random = new Random(7);
        var text = new StringBuilder(rows * 64 * 9);
        text.Append("{\"input_data\": {\"x\": [");
        for (var r = 0; r < rows; r++)
        {
            if (r > 0) text.Append(',');
            text.Append('[');
            for (var c = 0; c < 64; c++)
            {
                if (c > 0) text.Append(',');
                text.Append(random.NextSingle().ToString("0.000000", CultureInfo.InvariantCulture));
            }

            text.Append(']');
        }

        text.Append("]}}");
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
