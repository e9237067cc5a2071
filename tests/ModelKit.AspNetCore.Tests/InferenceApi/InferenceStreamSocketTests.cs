using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.AspNetCore.InferenceApi;
using ModelKit.ModelGenerator;
using ModelKit.Registry;

namespace ModelKit.Tests.InferenceApi;

/// <summary>
/// Seed 003's streaming socket (<see cref="InferenceStreamSocket"/>) on Kestrel with a real <c>ClientWebSocket</c>, over
/// the real text generation service and two generated decoders: one reciting the Gettysburg Address (exact text) and a
/// random one (long generations to cancel).
/// </summary>
public sealed class InferenceStreamSocketTests(StreamSocketServer server) : IClassFixture<StreamSocketServer>
{
    private const string Reciting = StreamSocketServer.Reciting;
    private const string Random = StreamSocketServer.Random;
    private readonly Uri _socketUri = server.SocketUri;

    [Fact]
    public async Task Generate_StreamsDeltasThenDone_ForTextAndChatAtOnce()
    {
        using var socket = await ConnectAsync();
        await SendAsync(socket, $$"""{"type": "generate", "id": "text", "task": "text-generation", "engine": "onnxruntime", "model_name": "{{Reciting}}", "data": {"prompt": "Four score and seven years ago"}, "options": {"max_tokens": 12, "temperature": 0} }""");
        await SendAsync(socket, $$"""{"id": "chat", "task": "chat", "model_name": "{{Reciting}}", "data": {"messages": [{"role": "user", "content": "Recite it."}]}, "options": {"max_tokens": 6, "temperature": 0, "stop": ["never"]} }""");

        var answers = await ReadUntilDoneAsync(socket, "text", "chat");
        var text = Text(answers["text"]);
        Assert.StartsWith(" our fathers brought forth on this continent", text, StringComparison.Ordinal);
        Assert.StartsWith(text, DecoderModels.GettysburgAddress["Four score and seven years ago".Length..], StringComparison.Ordinal);
        var done = answers["text"][^1];
        Assert.Equal(("done", Reciting, "1"), (done.GetProperty("type").GetString(), done.GetProperty("model").GetString(), done.GetProperty("model_version").GetString()));
        Assert.Equal(12, done.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(done.GetProperty("processing_time").GetDouble() > 0);
        Assert.Equal("length", answers["text"][^2].GetProperty("finish_reason").GetString());

        Assert.Contains(Text(answers["chat"]), DecoderModels.GettysburgAddress, StringComparison.Ordinal);
        Assert.Equal(6, answers["chat"][^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
        Assert.Equal(WebSocketState.Closed, socket.State);
    }

    [Fact]
    public async Task Cancel_StopsTheRequest_AndTheSocketServesTheNext()
    {
        using var socket = await ConnectAsync();
        // Without max_tokens the random decoder writes up to its whole context (1024 tokens); the cancel comes at once.
        await SendAsync(socket, $$"""{"id": "long", "model_name": "{{Random}}", "data": {"prompt": "x"}, "options": {"temperature": 0} }""");
        await SendAsync(socket, """{"type": "cancel", "id": "long"}""");
        var answers = await ReadUntilAsync(socket, "long", "cancelled");
        Assert.True(answers.Count(a => a.GetProperty("type").GetString() == "delta") < 1000);

        await SendAsync(socket, $$"""{"id": "next", "model_name": "{{Reciting}}", "data": {"prompt": "that government of the people,"}, "options": {"temperature": 0} }""");
        var next = (await ReadUntilDoneAsync(socket, "next"))["next"];
        Assert.Equal(" by the people, for the people, shall not perish from the earth.", Text(next));
        Assert.Equal("stop", next[^2].GetProperty("finish_reason").GetString()); // the end-of-text token
    }

    [Theory]
    [InlineData("""{"id": "a", "model_name": "socket-gpt2", "data": {"prompt": "x"}, "options": {"temperature": 3}}""", "a", "INVALID_INPUT", "InvalidInputError", "temperature")]
    [InlineData("""{"id": "b", "model_name": "no-such-model", "data": {"prompt": "x"}}""", "b", "MODEL_NOT_FOUND", "ModelNotFoundError", "no-such-model")]
    [InlineData("""{"id": "c", "engine": "vllm", "model_name": "socket-gpt2", "data": {"prompt": "x"}}""", "c", "INVALID_INPUT", "UnsupportedEngineError", "vllm")]
    [InlineData("""{"id": "d", "task": "image-classification", "model_name": "socket-gpt2", "data": {"prompt": "x"}}""", "d", "UNSUPPORTED_TASK", "UnsupportedTaskError", "image-classification")]
    [InlineData("""{"id": "e", "model_name": "socket-gpt2"}""", "e", "INVALID_INPUT", "InvalidInputError", "'prompt' is required")]
    [InlineData("""{"id": "f", "type": "shout"}""", "f", "INVALID_INPUT", "InvalidInputError", "'type' 'shout'")]
    [InlineData("""{"model_name": "socket-gpt2"}""", null, "INVALID_INPUT", "InvalidInputError", "'id' is required")]
    [InlineData("""[1, 2""", null, "INVALID_INPUT", "InvalidInputError", "not valid JSON")]
    public async Task BadMessage_IsAnErrorForItsId_AndTheSocketStaysOpen(string message, string? id, string code, string type, string text)
    {
        using var socket = await ConnectAsync();
        await SendAsync(socket, message);
        var error = await ReceiveAsync(socket);
        Assert.Equal(("error", id), (error.GetProperty("type").GetString(), error.TryGetProperty("id", out var echoed) ? echoed.GetString() : null));
        var detail = error.GetProperty("error");
        Assert.Equal(code, detail.GetProperty("code").GetString());
        Assert.Equal(type, detail.GetProperty("type").GetString());
        Assert.Contains(text, detail.GetProperty("message").GetString(), StringComparison.Ordinal);

        await SendAsync(socket, $$"""{"id": "after", "model_name": "{{Reciting}}", "data": {"prompt": "Four score"}, "options": {"max_tokens": 2, "temperature": 0} }""");
        Assert.Equal(2, (await ReadUntilDoneAsync(socket, "after"))["after"][^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task PlainGet_IsRefused_AndTheUpgradeIsTheWay()
    {
        using var http = new HttpClient { BaseAddress = new Uri(_socketUri.ToString().Replace("ws://", "http://", StringComparison.Ordinal)) };
        var response = await http.GetAsync(string.Empty);
        Assert.False(response.IsSuccessStatusCode); // not an upgrade request: refused before any socket
    }

    private async Task<ClientWebSocket> ConnectAsync()
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(_socketUri, CancellationToken.None);
        return socket;
    }

    private static Task SendAsync(ClientWebSocket socket, string json) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);

    /// <summary>The socket's next message as JSON; a close, or nothing for a minute, fails the test.</summary>
    internal static async Task<JsonElement> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1)); // a hang fails the test instead of blocking the run
        var buffer = new byte[1 << 16];
        using var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.NotEqual(WebSocketMessageType.Close, result.MessageType);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);
        return JsonDocument.Parse(message.ToArray()).RootElement.Clone();
    }

    // Every message for each id, until each has its 'done' (an 'error' fails the test).
    private static async Task<Dictionary<string, List<JsonElement>>> ReadUntilDoneAsync(ClientWebSocket socket, params string[] ids)
    {
        var answers = ids.ToDictionary(id => id, _ => new List<JsonElement>());
        var open = new HashSet<string>(ids);
        while (open.Count > 0)
        {
            var message = await ReceiveAsync(socket);
            var id = message.GetProperty("id").GetString()!;
            answers[id].Add(message);
            var kind = message.GetProperty("type").GetString();
            Assert.True(kind is "delta" or "done", $"unexpected message: {message}");
            if (kind == "done") open.Remove(id);
        }

        return answers;
    }

    private static async Task<List<JsonElement>> ReadUntilAsync(ClientWebSocket socket, string id, string type)
    {
        var answers = new List<JsonElement>();
        while (true)
        {
            var message = await ReceiveAsync(socket);
            Assert.Equal(id, message.GetProperty("id").GetString());
            answers.Add(message);
            if (message.GetProperty("type").GetString() == type) return answers;
            Assert.Equal("delta", message.GetProperty("type").GetString());
        }
    }

    private static string Text(List<JsonElement> answers) =>
        string.Concat(answers.Where(a => a.GetProperty("type").GetString() == "delta").Select(a => a.GetProperty("text").GetString()));
}

/// <summary>A host with the streaming socket mapped as seed 003 maps it, and the two decoders registered.</summary>
public sealed class StreamSocketServer : IAsyncLifetime
{
    public const string Reciting = "socket-gettysburg";
    public const string Random = "socket-gpt2";
    private readonly TempDirectory _dir = new();
    private WebApplication? _app;

    public Uri SocketUri { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddModelKit(o => o.DataDirectory = _dir.Combine("data")).AddOnnxRuntime().AddHttpApi(o => o.Enabled = false);
        _app = builder.Build();
        _app.UseWebSockets();
        _app.MapGet("/inference/stream", InferenceStreamSocket.RunAsync);
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        SocketUri = new Uri(address.Replace("http://", "ws://", StringComparison.Ordinal) + "/inference/stream");

        var registry = _app.Services.GetRequiredService<IModelRegistry>();
        foreach (var (id, folder) in new[] { (Reciting, DecoderModels.WriteRecitingDecoderDirectory(_dir.Combine(Reciting))), (Random, DecoderModels.WriteGpt2DecoderDirectory(_dir.Combine(Random))) })
        {
            await registry.RegisterAsync(new ModelDefinition { Id = id, Name = id, Task = "text-generation" },
                [.. DecoderModels.DirectoryFiles.Select(name => ArtifactSource.FromFile(name, Path.Combine(folder, name)))]);
        }
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _dir.Dispose();
    }
}
