using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using ModelKit.LocalHub;

using static ModelKit.Tests.Http;

namespace ModelKit.Tests.LlmManagerApi;

/// <summary>
/// Seed 004's downloads over real sockets: the sample server downloads from a local Hugging Face-compatible hub
/// (<see cref="HubSampleServerFactory"/>), its progress watched over <c>ws /ws/downloads</c>.
/// </summary>
public sealed class DownloadsApiTests : IClassFixture<HubSampleServerFactory>
{
    private const string MiniLm = LocalHubSeeds.MiniLmRepoId;
    private readonly HubSampleServerFactory _factory;
    private readonly HttpClient _client;

    public DownloadsApiTests(HubSampleServerFactory factory)
    {
        _factory = factory;
        _client = factory.CreateClient();
    }

    [Fact]
    public async Task MiniLm_SearchedDownloadedPausedResumedDeployed_ServesEmbeddings_WithProgressOverTheSocket()
    {
        // Search and info from the hub.
        var search = await DataAsync(await _client.GetAsync("/api/models/search?query=MiniLM&source=huggingface"));
        var found = Assert.Single(search.GetProperty("items").EnumerateArray());
        Assert.Equal((MiniLm, "huggingface", "sentence-similarity"), (found.GetProperty("id").GetString(), found.GetProperty("source").GetString(), found.GetProperty("model_type").GetString()));
        Assert.Equal(1, search.GetProperty("pagination").GetProperty("total").GetInt32());
        var info = await DataAsync(await _client.GetAsync($"/api/models/{MiniLm}/info?source=huggingface"));
        Assert.Equal(_factory.Hub.CommitOf(MiniLm), info.GetProperty("sha").GetString());
        Assert.Contains(info.GetProperty("files").EnumerateArray(), f => f.GetProperty("path").GetString() == "onnx/model.onnx" && f.GetProperty("sha256").GetString()!.Length == 64);

        // The download, slowed so that it can be paused midway; watched from the start over the socket, with a ticket.
        _factory.Hub.Faults.BytesPerSecond = 20_000_000;
        using var socket = await ConnectAsync(await TicketAsync());
        var events = CollectAsync(socket);
        var started = await DataAsync(await _client.PostAsync("/api/downloads/start", Json($$"""{"model_id": "{{MiniLm}}", "source": "huggingface", "register_as": "minilm-from-hub"}""")));
        var task = started.GetProperty("task");
        var id = task.GetProperty("id").GetString()!;
        Assert.Contains(task.GetProperty("status").GetString(), new[] { "pending", "downloading" });
        Assert.Equal(MiniLm, task.GetProperty("model_id").GetString());

        // Paused once the socket has pushed progress past 2 MB: inside model.onnx (90 MB; the other files together are under
        // 1 MB), so that the pause lands mid-file and the resume has a partial file to ask the rest of. Paused on the first
        // bytes, it could land between two small files, and the resume would have nothing to ask a range for.
        await events.UntilAsync(e => e.Id == id && e.Type == "progress" && e.Bytes > 2_000_000);
        var paused = await DataAsync(await _client.PutAsync($"/api/downloads/{id}/pause", null));
        Assert.Equal("paused", paused.GetProperty("status").GetString());
        var kept = paused.GetProperty("downloaded_bytes").GetInt64();
        Assert.True(kept > 0 && kept < paused.GetProperty("total_bytes").GetInt64());
        _factory.Hub.Counters.Reset();
        _factory.Hub.Faults.BytesPerSecond = 0;
        Assert.Contains((await DataAsync(await _client.PutAsync($"/api/downloads/{id}/resume", null))).GetProperty("status").GetString(), new[] { "pending", "downloading" });
        var done = await PollAsync(id, t => t.GetProperty("status").GetString() is "completed" or "failed");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(100, done.GetProperty("progress").GetDouble());
        // The resumed file asked the hub for the rest only.
        Assert.Contains(_factory.Hub.Counters.RangeRequests, r => r.Range is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && !range.StartsWith("bytes=0-", StringComparison.Ordinal));

        // The socket saw the task queued, downloading with progress, paused, and completed, in that order.
        var seen = await events.UntilAsync(e => e.Status == "completed" && e.Id == id);
        var statuses = seen.Where(e => e.Id == id && e.Type == "status").Select(e => e.Status).ToList();
        Assert.True(Ordered(statuses, "downloading", "paused", "completed"), string.Join(",", statuses));
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);

        // Registered with its vocabulary and configuration, verified against the hub's hashes; deployed; serves embeddings.
        var model = await DataAsync(await _client.GetAsync("/api/models/minilm-from-hub/info"));
        Assert.Equal("sentence-similarity", model.GetProperty("model_type").GetString());
        var deployment = await DataAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "minilm-from-hub"}""")));
        await _factory.WaitUntilRunningAsync(_client, "minilm-from-hub");
        var embeddings = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json("""{"model": "minilm-from-hub", "input": ["a real sentence encoder", "downloaded from a hub"]}""")), HttpStatusCode.OK);
        Assert.Equal(2, embeddings.GetProperty("data").GetArrayLength());
        Assert.Equal(384, embeddings.GetProperty("data")[0].GetProperty("embedding").GetArrayLength());
        Assert.NotNull(deployment.GetProperty("deployment_id").GetString());

        // Sync: the registry records the hub's current commit and figures; a change on the hub shows as an update.
        var synced = (await DataAsync(await _client.PostAsync("/api/models/sync", Json("""{"model_ids": ["minilm-from-hub"]}""")))).GetProperty("models")[0];
        Assert.Equal(("synced", _factory.Hub.CommitOf(MiniLm), false), (synced.GetProperty("status").GetString(), synced.GetProperty("hub_revision").GetString(), synced.GetProperty("update_available").GetBoolean()));
        Assert.Equal(_factory.Hub.CommitOf(MiniLm), synced.GetProperty("downloaded_revision").GetString());
        Assert.Equal(0, (await DataAsync(await _client.GetAsync("/api/models/minilm-from-hub/info"))).GetProperty("downloads").GetInt64()); // the local hub counts none
        var readme = Path.Combine(_factory.HubRoot, MiniLm.Replace('/', Path.DirectorySeparatorChar), "README.md");
        await File.AppendAllTextAsync(readme, "\nA line added on the hub.\n");
        var again = (await DataAsync(await _client.PostAsync("/api/models/sync", null))).GetProperty("models").EnumerateArray().Single(m => m.GetProperty("id").GetString() == "minilm-from-hub");
        Assert.True(again.GetProperty("update_available").GetBoolean());
        Assert.Equal(_factory.Hub.CommitOf(MiniLm), again.GetProperty("hub_revision").GetString());
    }

    [Fact]
    public async Task Download_InterruptedByAServerRestart_ResumesByRangeInTheNextProcess()
    {
        // Two server processes in turn over one data directory (test servers beside the Kestrel one, same hub).
        using var data = new TempDirectory();
        WebApplicationFactory<Program> Server() => _factory.WithWebHostBuilder(b => b
            .UseSetting("ModelKit:DataDirectory", data.Path)
            .UseSetting("ModelKit:DeployDemoModels", "false"));
        HttpClient ClientOf(WebApplicationFactory<Program> server)
        {
            var client = server.CreateClient();
            if (!client.DefaultRequestHeaders.Contains("X-API-Key")) client.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
            return client;
        }

        _factory.Hub.Faults.BytesPerSecond = 10_000_000;
        string id;
        try
        {
            await using (var first = Server())
            {
                var client = ClientOf(first);
                var started = await DataAsync(await client.PostAsync("/api/downloads/start", Json($$"""{"model_id": "{{MiniLm}}", "source": "huggingface", "register_as": "minilm-restarted"}""")));
                id = started.GetProperty("task").GetProperty("id").GetString()!;
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while ((await DataAsync(await client.GetAsync($"/api/downloads/{id}"))).GetProperty("downloaded_bytes").GetInt64() < 5_000_000)
                {
                    Assert.True(DateTime.UtcNow < deadline);
                    await Task.Delay(20);
                }
            } // the server stops mid-file; the task stays unfinished on disk

            _factory.Hub.Counters.Reset();
        }
        finally
        {
            _factory.Hub.Faults.BytesPerSecond = 0;
        }

        await using var second = Server();
        var next = ClientOf(second);
        var done = await PollAsync(next, id, t => t.GetProperty("status").GetString() is "completed" or "failed");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Contains(_factory.Hub.Counters.RangeRequests, r => r.Range is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && !range.StartsWith("bytes=0-", StringComparison.Ordinal));
        Assert.Equal("minilm-restarted", (await DataAsync(await next.GetAsync("/api/models/minilm-restarted/info"))).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Download_WhenTheServerProcessIsKilled_ResumesInTheNextProcess()
    {
        using var data = new TempDirectory();
        string[] settings = ["--ModelKit:Hub:Endpoint=" + _factory.Hub.Endpoint, "--ModelKit:DeployDemoModels=false", "--ModelKit:ServeChatModel=false"];
        HttpClient ClientOf(SampleServerProcess server)
        {
            var client = new HttpClient { BaseAddress = server.Address };
            client.DefaultRequestHeaders.Add("X-API-Key", SampleServerFactory.AdminKey);
            return client;
        }

        _factory.Hub.Faults.BytesPerSecond = 10_000_000;
        string id;
        try
        {
            using var first = SampleServerProcess.Start(data.Path, settings);
            using var client = ClientOf(first);
            await first.WaitUntilListeningAsync(client);
            var started = await DataAsync(await client.PostAsync("/api/downloads/start", Json($$"""{"model_id": "{{MiniLm}}", "source": "huggingface", "register_as": "minilm-killed"}""")));
            id = started.GetProperty("task").GetProperty("id").GetString()!;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while ((await DataAsync(await client.GetAsync($"/api/downloads/{id}"))).GetProperty("downloaded_bytes").GetInt64() < 5_000_000)
            {
                Assert.True(DateTime.UtcNow < deadline);
                await Task.Delay(20);
            }

            first.Kill(); // kill -9 mid-file
            _factory.Hub.Counters.Reset();
        }
        finally
        {
            _factory.Hub.Faults.BytesPerSecond = 0;
        }

        using var second = SampleServerProcess.Start(data.Path, settings);
        using var next = ClientOf(second);
        await second.WaitUntilListeningAsync(next);
        var done = await PollAsync(next, id, t => t.GetProperty("status").GetString() is "completed" or "failed");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Contains(_factory.Hub.Counters.RangeRequests, r => r.Range is { } range && range.StartsWith("bytes=", StringComparison.Ordinal) && !range.StartsWith("bytes=0-", StringComparison.Ordinal));
        Assert.True(done.GetProperty("files").EnumerateArray().All(f => f.GetProperty("verified").GetBoolean()));
        Assert.Equal("minilm-killed", (await DataAsync(await next.GetAsync("/api/models/minilm-killed/info"))).GetProperty("id").GetString());
    }

    [Fact]
    public async Task SeedExample_StartsTheDocumentedDownload_ListQueueAndDelete()
    {
        // 3.1 as written: the seed's model id and source (here a generated stand-in on the local hub).
        var started = await DataAsync(await _client.PostAsync("/api/downloads/start", Json("""
            {
              "model_id": "microsoft/DialoGPT-medium",
              "source": "huggingface"
            }
            """)));
        Assert.Equal("Download task created", started.GetProperty("message").GetString());
        var id = started.GetProperty("task").GetProperty("id").GetString()!;
        var done = await PollAsync(id, t => t.GetProperty("status").GetString() is "completed" or "failed");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        foreach (var field in new[] { "id", "model_id", "source", "status", "progress", "downloaded_size", "total_size", "speed", "eta", "created_at", "updated_at" })
        {
            Assert.True(done.TryGetProperty(field, out _), field);
        }

        // 3.7 list by status, 3.8 queue, 3.9 storage.
        var list = await DataAsync(await _client.GetAsync("/api/downloads/list?status=completed&page=1&page_size=20"));
        Assert.Contains(list.GetProperty("items").EnumerateArray(), t => t.GetProperty("id").GetString() == id);
        var queue = await DataAsync(await _client.GetAsync("/api/downloads/queue"));
        Assert.True(queue.GetProperty("max_concurrent_downloads").GetInt32() >= 1);
        Assert.Equal(JsonValueKind.Array, queue.GetProperty("pending").ValueKind);
        var storage = await DataAsync(await _client.GetAsync("/api/downloads/storage"));
        Assert.True(storage.GetProperty("total_gb").GetDouble() > 0);
        Assert.Equal(JsonValueKind.Number, storage.GetProperty("downloads_size_bytes").ValueKind);

        // Pausing or cancelling a finished task is the seed's INVALID_ACTION; 3.6 delete removes the record, not the model.
        await ErrorAsync(await _client.PutAsync($"/api/downloads/{id}/pause", null), HttpStatusCode.Conflict, "INVALID_ACTION");
        await ErrorAsync(await _client.PutAsync($"/api/downloads/{id}/cancel", null), HttpStatusCode.Conflict, "INVALID_ACTION");
        Assert.True((await DataAsync(await _client.DeleteAsync($"/api/downloads/{id}"))).GetProperty("deleted").GetBoolean());
        await ErrorAsync(await _client.GetAsync($"/api/downloads/{id}"), HttpStatusCode.NotFound, "TASK_NOT_FOUND");
        await DataAsync(await _client.GetAsync("/api/models/microsoft/DialoGPT-medium/info"));
    }

    [Fact]
    public async Task DeploymentFromTheHub_ShowsADownloadStage_ThenServes()
    {
        _factory.Hub.Faults.BytesPerSecond = 40_000; // slow enough to see the download stage at work
        try
        {
            var started = await DataAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "modelkit/demo-mlp", "model_source": "huggingface"}""")));
            var id = started.GetProperty("deployment_id").GetString()!;
            var taskId = started.GetProperty("download_task_id").GetString()!;
            Assert.Equal(("huggingface", "starting", "download"), (started.GetProperty("model_source").GetString(), started.GetProperty("status").GetString(), started.GetProperty("stages")[0].GetProperty("name").GetString()));
            Assert.Contains(started.GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("downloaded from the hub first", StringComparison.Ordinal));

            // The download stage reports the download's progress while it runs.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            JsonElement status;
            var sawProgress = false;
            do
            {
                status = await DataAsync(await _client.GetAsync($"/api/deployments/{id}"));
                var stage = status.GetProperty("stages")[0];
                sawProgress |= stage.GetProperty("status").GetString() == "in_progress" && stage.TryGetProperty("message", out var m) && m.GetString()!.Contains('%', StringComparison.Ordinal);
                Assert.True(DateTime.UtcNow < deadline, status.ToString());
                await Task.Delay(20);
            }
            while (status.GetProperty("status").GetString() is "starting");

            Assert.True(sawProgress, "the download stage never showed its progress");
            Assert.Equal("running", status.GetProperty("status").GetString());
            Assert.Equal("1", status.GetProperty("version").GetString());
            Assert.Contains("registered as version 1", status.GetProperty("stages")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
            Assert.Equal("completed", (await DataAsync(await _client.GetAsync($"/api/downloads/{taskId}"))).GetProperty("status").GetString());
            var modelInfo = await DataAsync(await _client.GetAsync($"/api/deployments/{id}/model-info"));
            Assert.Equal(("modelkit/demo-mlp", "1"), (modelInfo.GetProperty("model_id").GetString(), modelInfo.GetProperty("version").GetString()));
        }
        finally
        {
            _factory.Hub.Faults.BytesPerSecond = 0;
        }

        // A repository the hub does not have fails at once, creating no deployment.
        await ErrorAsync(await _client.PostAsync("/api/deployments/start", Json("""{"model_id": "modelkit/not-there", "model_source": "huggingface"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
    }

    [Fact]
    public async Task Seed001LocalDeploy_OfACatalogueModel_ShowsItsDownloadingWeightsStage_ThenRuns()
    {
        _factory.Hub.Faults.BytesPerSecond = 30_000_000;
        try
        {
            var accepted = await ExpectAsync(await _client.PostAsync("/models/local/deploy", Json("""{"model_type": "minilm", "model_size": "l6", "deployment_config": {"max_batch_size": 8}}""")), HttpStatusCode.OK);
            Assert.Equal(200, accepted.GetProperty("code").GetInt32());
            var progressUrl = accepted.GetProperty("data").GetProperty("progress_url").GetString()!;
            Assert.Equal("minilm-l6", accepted.GetProperty("data").GetProperty("model_id").GetString());
            var deadline = DateTime.UtcNow.AddSeconds(90);
            var partial = false;
            JsonElement data;
            do
            {
                data = (await ExpectAsync(await _client.GetAsync(progressUrl), HttpStatusCode.OK)).GetProperty("data");
                var stage = data.GetProperty("stages")[0];
                Assert.Equal("downloading_weights", stage.GetProperty("name").GetString());
                partial |= stage.TryGetProperty("progress", out var p) && p.GetDouble() is > 0 and < 100;
                Assert.True(DateTime.UtcNow < deadline, data.ToString());
                await Task.Delay(20);
            }
            while (data.GetProperty("status").GetString() is "in_progress" or "pending");

            Assert.True(partial, "the downloading_weights stage never showed partial progress");
            Assert.Equal("completed", data.GetProperty("stages")[0].GetProperty("status").GetString());
            Assert.Equal(100, data.GetProperty("stages")[0].GetProperty("progress").GetDouble());
            await _factory.WaitUntilRunningAsync(_client, "minilm-l6");
            var embeddings = await ExpectAsync(await _client.PostAsync("/v1/embeddings", Json("""{"model": "minilm-l6", "input": "from the catalogue"}""")), HttpStatusCode.OK);
            Assert.Equal(384, embeddings.GetProperty("data")[0].GetProperty("embedding").GetArrayLength());
        }
        finally
        {
            _factory.Hub.Faults.BytesPerSecond = 0;
        }
    }

    [Fact]
    public async Task DownloadsDocument_CurlExamples_AnswerAsDocumented()
    {
        // docs/downloads.md's bash blocks, run with the real curl against this server and its local hub.
        await DocExamplesTests.AssertAnswerAsDocumentedAsync(Path.Combine("docs", "downloads.md"), _client.BaseAddress!);
    }

    [Fact]
    public async Task BadRequests_AnswerTheSeedsErrors_AndCreateNoTask()
    {
        var before = (await DataAsync(await _client.GetAsync("/api/downloads/list"))).GetProperty("pagination").GetProperty("total").GetInt32();
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"model_id": "nobody/nothing-here", "source": "huggingface"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json($$"""{"model_id": "{{MiniLm}}", "source": "huggingface", "revision": "v9"}""")), HttpStatusCode.NotFound, "MODEL_NOT_FOUND");
        var ollama = await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"model_id": "llama3", "source": "ollama"}""")), HttpStatusCode.BadRequest, "INVALID_SOURCE");
        Assert.Contains("GGUF", ollama.GetProperty("message").GetString(), StringComparison.Ordinal);
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"model_id": "x/y", "source": "gopher"}""")), HttpStatusCode.BadRequest, "INVALID_SOURCE");
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"source": "huggingface"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"model_id": "../../etc", "source": "huggingface"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"model_id": "x", "source": "file", "path": "/etc"}""")), HttpStatusCode.BadRequest, "INVALID_SOURCE");
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"model_id": "x", "source": "url", "url": "http://127.0.0.1:9/model.onnx"}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"model_id": 5}""")), HttpStatusCode.BadRequest, "INVALID_INPUT");
        foreach (var pattern in new[] { "[]", "[!]", "[z-a]", "", string.Concat(Enumerable.Repeat("*a", 120)) + "b" })
        {
            // Checked before anything downloads: a malformed or empty pattern, or one that matches no ONNX file, is a 400, never a 500.
            var body = System.Text.Json.JsonSerializer.Serialize(new { model_id = MiniLm, source = "huggingface", allow_patterns = new[] { pattern } });
            await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json(body)), HttpStatusCode.BadRequest, "INVALID_INPUT");
        }

        await ErrorAsync(await _client.PostAsync("/api/downloads/start", Json("""{"model_id": "x", "source": "file", "path": "a\u0000b"}""")), HttpStatusCode.BadRequest, "INVALID_SOURCE");
        foreach (var action in new[] { "pause", "resume", "cancel" }) await ErrorAsync(await _client.PutAsync($"/api/downloads/task_123/{action}", null), HttpStatusCode.NotFound, "TASK_NOT_FOUND");
        await ErrorAsync(await _client.DeleteAsync("/api/downloads/task_123"), HttpStatusCode.NotFound, "TASK_NOT_FOUND");
        await ErrorAsync(await _client.GetAsync("/api/downloads/list?status=sleeping"), HttpStatusCode.BadRequest, "INVALID_INPUT");
        Assert.Equal(before, (await DataAsync(await _client.GetAsync("/api/downloads/list"))).GetProperty("pagination").GetProperty("total").GetInt32());
        // Nothing leaks a server path.
        var text = await (await _client.PostAsync("/api/downloads/start", Json("""{"model_id": "x", "source": "file", "path": "/etc"}"""))).Content.ReadAsStringAsync();
        Assert.DoesNotContain(_factory.DataDirectory, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Socket_NeedsAKeyOrAOneTimeTicket_AndAnswersBadMessagesWithoutClosing()
    {
        var address = new Uri(new Uri(_client.BaseAddress!.AbsoluteUri.Replace("http", "ws", StringComparison.Ordinal)), "ws/downloads");
        using (var anonymous = new ClientWebSocket())
        {
            var refused = await Assert.ThrowsAsync<WebSocketException>(() => anonymous.ConnectAsync(address, CancellationToken.None));
            Assert.Contains("401", refused.Message, StringComparison.Ordinal);
        }

        // A header key (non-browser clients) works.
        using (var withKey = new ClientWebSocket())
        {
            withKey.Options.SetRequestHeader("X-API-Key", SampleServerFactory.AdminKey);
            await withKey.ConnectAsync(address, CancellationToken.None);
            await withKey.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        }

        // A ticket works once.
        var ticket = await TicketAsync();
        using var socket = await ConnectAsync(ticket);
        using (var again = new ClientWebSocket())
        {
            await Assert.ThrowsAsync<WebSocketException>(() => again.ConnectAsync(new Uri(address + "?ticket=" + ticket), CancellationToken.None));
        }

        await SendAsync(socket, "not json");
        Assert.Equal(("error", "INVALID_ACTION"), await ReceiveTypeAsync(socket, "error"));
        await SendAsync(socket, """{"type": "subscribe", "task_id": "task_123"}""");
        Assert.Equal(("error", "TASK_NOT_FOUND"), await ReceiveTypeAsync(socket, "error"));
        await SendAsync(socket, """{"type": "ping"}""");
        Assert.Equal("pong", (await ReceiveTypeAsync(socket, "pong")).Type);
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
    }

    private async Task<string> TicketAsync() =>
        (await DataAsync(await _client.PostAsync("/api/ws/ticket", null))).GetProperty("ticket").GetString()!;

    private async Task<ClientWebSocket> ConnectAsync(string ticket)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(new Uri(new Uri(_client.BaseAddress!.AbsoluteUri.Replace("http", "ws", StringComparison.Ordinal)), "ws/downloads?ticket=" + ticket), CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    // The next message of the given type (snapshots and progress of other tests' tasks pass by).
    private static async Task<(string Type, string? Error)> ReceiveTypeAsync(ClientWebSocket socket, string type)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var message = await ReceiveAsync(socket, timeout.Token) ?? throw new InvalidOperationException("The socket closed.");
            var t = message.GetProperty("type").GetString()!;
            if (t == type) return (t, message.TryGetProperty("error", out var error) ? error.GetString() : null);
        }
    }

    private static async Task<JsonElement?> ReceiveAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage) return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
        }
    }

    private static SocketEvents CollectAsync(ClientWebSocket socket) => new(socket);

    /// <summary>Every message the socket receives, read in the background.</summary>
    private sealed class SocketEvents
    {
        private readonly List<(string Type, string? Id, string? Status, long Bytes)> _seen = [];
        private readonly Task _reading;

        public SocketEvents(ClientWebSocket socket) => _reading = Task.Run(async () =>
        {
            while (await ReceiveAsync(socket, CancellationToken.None) is { } message)
            {
                var type = message.GetProperty("type").GetString()!;
                var task = message.TryGetProperty("task", out var t) ? t : (JsonElement?)null;
                lock (_seen) _seen.Add((type, task?.GetProperty("id").GetString(), task?.GetProperty("status").GetString(), task?.GetProperty("downloaded_bytes").GetInt64() ?? 0));
            }
        });

        public async Task<List<(string Type, string? Id, string? Status, long Bytes)>> UntilAsync(Func<(string Type, string? Id, string? Status, long Bytes), bool> done)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (true)
            {
                lock (_seen)
                {
                    if (_seen.Exists(e => done(e))) return [.. _seen];
                }

                if (DateTime.UtcNow > deadline || _reading.IsCompleted) throw new TimeoutException("The socket did not report it.");
                await Task.Delay(20);
            }
        }
    }

    private static bool Ordered(List<string?> statuses, params string[] expected)
    {
        var at = 0;
        foreach (var status in statuses)
        {
            if (at < expected.Length && status == expected[at]) at++;
        }

        return at == expected.Length;
    }

    private Task<JsonElement> PollAsync(string id, Func<JsonElement, bool> done) => PollAsync(_client, id, done);

    private static async Task<JsonElement> PollAsync(HttpClient client, string id, Func<JsonElement, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var task = await DataAsync(await client.GetAsync($"/api/downloads/{id}"));
            if (done(task)) return task;
            if (DateTime.UtcNow > deadline) throw new TimeoutException(task.ToString());
            await Task.Delay(20);
        }
    }

    private static async Task<JsonElement> DataAsync(HttpResponseMessage response)
    {
        var json = await ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal((true, 200), (json.GetProperty("success").GetBoolean(), json.GetProperty("code").GetInt32()));
        return json.GetProperty("data");
    }

    private static async Task<JsonElement> ErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var json = await ExpectAsync(response, status, code);
        Assert.False(json.GetProperty("success").GetBoolean());
        Assert.Equal(code, json.GetProperty("error").GetString());
        return json;
    }
}
