using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ModelKit.LocalHub;
using Hub = ModelKit.LocalHub.LocalHubServer;

namespace ModelKit.Tests.Downloads;

// The faults the hub injects into file bodies and answers: throttling, drops, ignored ranges, corruption, 503s, delays.
public sealed partial class LocalHubTests
{
    [Fact]
    public async Task Throttle_SendsTheBodyInSeveralPieces()
    {
        _hub.Faults.BytesPerSecond = 40_000;
        using var response = await _http.GetAsync(new Uri($"{Repo}/resolve/main/vocab.txt", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        var buffer = new byte[1 << 16];
        var reads = 0;
        int read;
        while ((read = await body.ReadAsync(buffer)) > 0)
        {
            received.Write(buffer, 0, read);
            reads++;
        }

        Assert.Equal(Vocab, received.ToArray());
        Assert.True(reads >= Vocab.Length / 4_000, $"{Vocab.Length} bytes throttled to 4000-byte pieces arrived in {reads} reads.");
    }

    [Fact]
    public async Task Drop_CutsTheConnectionAfterDropAfterBytes_ForDropCountResponses()
    {
        _hub.Faults.DropAfterBytes = 4096;
        _hub.Faults.DropCount = 1;
        using var location = await _http.GetAsync(new Uri($"{Repo}/resolve/main/onnx/model.onnx", UriKind.Relative));
        using var response = await _http.GetAsync(location.Headers.Location, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        var received = new MemoryStream();
        await Assert.ThrowsAnyAsync<IOException>(() => body.CopyToAsync(received));
        Assert.Equal(Model[..4096], received.ToArray());
        Assert.Equal((0, 1L), (_hub.Faults.DropCount, _hub.Counters.Dropped));

        // The drop is spent: resuming from what arrived completes the file.
        using var resumed = await SendAsync(HttpMethod.Get, location.Headers.Location!.ToString(), "bytes=4096-");
        Assert.Equal(HttpStatusCode.PartialContent, resumed.StatusCode);
        byte[] whole = [.. received.ToArray(), .. await resumed.Content.ReadAsByteArrayAsync()];
        Assert.Equal(Model, whole);
    }

    [Fact]
    public async Task IgnoreRange_AnswersTheWholeFileWith200()
    {
        _hub.Faults.IgnoreRange = true;
        using var response = await SendAsync(HttpMethod.Get, $"{Repo}/resolve/main/vocab.txt", "bytes=100-");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Content.Headers.ContentRange);
        Assert.Equal(Vocab, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task CorruptFile_FlipsOneByte_AndKeepsTheHeaders()
    {
        using var before = await SendAsync(HttpMethod.Get, $"{Repo}/resolve/main/onnx/model.onnx", followLfs: true);
        _hub.Faults.CorruptFile(Repo, "onnx/model.onnx");
        using var after = await SendAsync(HttpMethod.Get, $"{Repo}/resolve/main/onnx/model.onnx", followLfs: true);

        var bytes = await after.Content.ReadAsByteArrayAsync();
        Assert.Equal(Model.Length, bytes.Length);
        Assert.Single(Enumerable.Range(0, Model.Length), i => bytes[i] != Model[i]);
        Assert.Equal(before.Headers.ETag, after.Headers.ETag);
        Assert.Equal(before.Content.Headers.ContentLength, after.Content.Headers.ContentLength);

        _hub.Faults.RestoreFile(Repo, "onnx/model.onnx");
        using var restored = await SendAsync(HttpMethod.Get, $"{Repo}/resolve/main/onnx/model.onnx", followLfs: true);
        Assert.Equal(Model, await restored.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task FailNextRequests_Answers503WithRetryAfter_ThenRecovers()
    {
        _hub.Faults.FailNextRequests = 2;
        foreach (var path in new[] { "api/models", $"{Repo}/resolve/main/vocab.txt" })
        {
            using var failed = await _http.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, failed.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(1), failed.Headers.RetryAfter?.Delta);
        }

        using var ok = await _http.GetAsync(new Uri($"{Repo}/resolve/main/vocab.txt", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal((0, 2L), (_hub.Faults.FailNextRequests, _hub.Counters.FailedByFault));
    }

    [Fact]
    public async Task Delay_HoldsTheAnswer_SoAClientTimeoutFires()
    {
        _hub.Faults.Delay = TimeSpan.FromMinutes(5);
        using var http = new HttpClient { BaseAddress = _hub.Endpoint, Timeout = TimeSpan.FromMilliseconds(200) };
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => http.GetAsync(new Uri("api/models", UriKind.Relative)));
    }
}
