using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;

namespace ModelKit.Tests;

[CollectionDefinition(nameof(LargeBodyMemoryTests), DisableParallelization = true)]
public sealed class LargeBodyMemoryCollection;

/// <summary>
/// Resident memory after large JSON inference bodies (54 MB each, 94,000 rows of the demo MLP): inputs are read from the
/// body straight into tensors (no document of them), at most two large bodies are served at once, and ONNX Runtime's arena
/// is shrunk after a large run. Runs alone, so that other tests' memory does not blur the measurement.
/// </summary>
[Collection(nameof(LargeBodyMemoryTests))]
public sealed class LargeBodyMemoryTests
{
    private const long BoundBytes = 400L << 20;

    [Fact]
    public async Task LargeBodies_OneByOneOrFourAtOnce_LeaveResidentMemoryWithinABound()
    {
        await using var factory = new KestrelSampleServerFactory();
        var client = factory.CreateClient();
        client.Timeout = TimeSpan.FromMinutes(5);
        await factory.WaitUntilRunningAsync(client, "demo-mlp");
        var body = LargeBody(rows: 94_000);
        Assert.True(body.Length > 50_000_000);

        async Task SendAsync()
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new("application/json");
            var response = await client.PostAsync("/api/v1/models/demo-mlp/inference", content);
            Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        }

        await SendAsync(); // the first one sizes the pools and the arena
        var baseline = Resident();

        for (var i = 0; i < 2; i++) await SendAsync();
        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => SendAsync()));
        var after = Resident();

        // Before: one such body kept ~0.5 GB, four at once ~2 GB.
        Assert.True(after - baseline < BoundBytes, $"resident memory grew {(after - baseline) >> 20} MiB (from {baseline >> 20} MiB) over six more large requests");
    }

    private static long Resident()
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
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
