using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace ModelKit.Tests;

/// <summary>
/// A provider that misbehaves on purpose, for the failures a real server cannot be made to show: a raw HTTP/1.1 listener
/// on loopback whose behaviour is the first segment of the request path (the remote model's endpoint is
/// <c>{Address}/{mode}/v1</c>):
/// <list type="bullet">
/// <item><c>silent</c>: reads the request and never answers;</item>
/// <item><c>drop</c>: answers 200 with one streamed chunk ("Four"), then closes the connection;</item>
/// <item><c>stall</c>: answers 200 with one streamed chunk, then says nothing more;</item>
/// <item><c>endless</c>: streams a chunk every 20 ms until the client goes away (<see cref="EndlessClosed"/>);</item>
/// <item><c>split</c>: by the request's <c>seed</c>: odd is refused with 400 after 300 ms; even streams 30 chunks 100 ms
/// apart and finishes, or, not streamed, never answers until the client goes away (<see cref="SplitClosed"/>);</item>
/// <item><c>limit</c>: 429 with <c>Retry-After: 3600</c>, counted in <see cref="LimitRequests"/>;</item>
/// <item><c>leak</c>: 400 whose message repeats the request's <c>Authorization</c> header and the provider's own URL.</item>
/// </list>
/// </summary>
public sealed class ScriptedProvider : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];

    public ScriptedProvider()
    {
        _listener.Start();
        Address = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";
        _ = Task.Run(AcceptAsync);
    }

    /// <summary>The listener's base address (no trailing slash).</summary>
    public string Address { get; }

    /// <summary>Completed when a client leaves an <c>endless</c> stream.</summary>
    public TaskCompletionSource EndlessClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completed when a client leaves a <c>split</c> request that was not answered.</summary>
    public TaskCompletionSource SplitClosed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private int _limitRequests;

    /// <summary>How many requests the <c>limit</c> mode has answered.</summary>
    public int LimitRequests => Volatile.Read(ref _limitRequests);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            lock (_sockets) _sockets.Add(socket);
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            using var stream = new NetworkStream(socket, ownsSocket: false);
            var (path, headers, body) = await ReadRequestAsync(stream);
            var mode = path.Split('/', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault();
            var streamed = body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            var seed = body.TryGetProperty("seed", out var value) ? value.GetInt64() : 0;
            switch (mode)
            {
                case "silent":
                    await WaitForCloseAsync(stream);
                    break;
                case "drop":
                    await WriteAsync(stream, Head("200 OK", "text/event-stream") + Chunk("Four", null));
                    socket.Close();
                    break;
                case "stall":
                    await WriteAsync(stream, Head("200 OK", "text/event-stream") + Chunk("Four", null));
                    await WaitForCloseAsync(stream);
                    break;
                case "endless":
                    await WriteAsync(stream, Head("200 OK", "text/event-stream"));
                    try
                    {
                        while (true)
                        {
                            await WriteAsync(stream, Chunk(" and", null));
                            await Task.Delay(20, _stop.Token);
                        }
                    }
                    catch (IOException)
                    {
                        EndlessClosed.TrySetResult();
                    }

                    break;
                case "split" when seed % 2 == 1:
                    await Task.Delay(300, _stop.Token);
                    var refusal = $$"""{"error": {"message": "seed {{seed}} is refused here", "type": "invalid_request_error", "code": null} }""";
                    await WriteAsync(stream, Head("400 Bad Request", "application/json", Encoding.UTF8.GetByteCount(refusal)) + refusal);
                    break;
                case "split" when streamed:
                    await WriteAsync(stream, Head("200 OK", "text/event-stream"));
                    for (var i = 0; i < 30; i++)
                    {
                        await WriteAsync(stream, Chunk(" word", null));
                        await Task.Delay(100, _stop.Token);
                    }

                    await WriteAsync(stream, Chunk("", "stop") + "data: [DONE]\n\n");
                    break;
                case "split":
                    await WaitForCloseAsync(stream);
                    SplitClosed.TrySetResult();
                    break;
                case "limit":
                    Interlocked.Increment(ref _limitRequests);
                    const string Limited = """{"error": {"message": "Rate limit reached for requests", "type": "requests", "code": "rate_limit_exceeded"} }""";
                    await WriteAsync(stream, Head("429 Too Many Requests", "application/json", Encoding.UTF8.GetByteCount(Limited), "Retry-After: 3600\r\n") + Limited);
                    break;
                case "leak":
                    var authorization = headers.FirstOrDefault(h => h.StartsWith("Authorization:", StringComparison.OrdinalIgnoreCase))?["Authorization:".Length..].Trim();
                    var leak = JsonSerializer.Serialize(new { error = new { message = $"Invalid key {authorization} sent to {Address}/leak/v1/chat/completions", type = "invalid_request_error" } });
                    await WriteAsync(stream, Head("400 Bad Request", "application/json", Encoding.UTF8.GetByteCount(leak)) + leak);
                    break;
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            socket.Close();
        }
    }

    private async Task<(string Path, string[] Headers, JsonElement Body)> ReadRequestAsync(NetworkStream stream)
    {
        var received = new List<byte>();
        var buffer = new byte[8192];
        int headerEnd;
        while ((headerEnd = IndexOfBlankLine(received)) < 0) received.AddRange(await ReadSomeAsync(stream, buffer));
        var head = Encoding.ASCII.GetString(received.ToArray(), 0, headerEnd).Split("\r\n");
        var lengthHeader = head.First(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
        var length = int.Parse(lengthHeader["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        while (received.Count < headerEnd + 4 + length) received.AddRange(await ReadSomeAsync(stream, buffer));
        var body = JsonDocument.Parse(received.ToArray().AsMemory(headerEnd + 4, length)).RootElement.Clone();
        return (head[0].Split(' ')[1], head, body);
    }

    private async Task<byte[]> ReadSomeAsync(NetworkStream stream, byte[] buffer)
    {
        var read = await stream.ReadAsync(buffer, _stop.Token);
        if (read == 0) throw new IOException("The client closed the connection before its request was complete.");
        return buffer[..read];
    }

    // Holds the connection without answering until the client closes it (a read returns 0) or the provider stops.
    private async Task WaitForCloseAsync(NetworkStream stream)
    {
        var buffer = new byte[1024];
        try
        {
            while (await stream.ReadAsync(buffer, _stop.Token) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
    }

    private Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.UTF8.GetBytes(text), _stop.Token).AsTask();

    private static string Head(string status, string contentType, int? length = null, string extra = "") =>
        $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nConnection: close\r\n{(length is { } l ? $"Content-Length: {l}\r\n" : "")}{extra}\r\n";

    private static string Chunk(string content, string? finish) =>
        "data: " + JsonSerializer.Serialize(new
        {
            id = "chatcmpl-scripted",
            @object = "chat.completion.chunk",
            created = 1,
            model = "scripted",
            choices = new[] { new { index = 0, delta = new { role = "assistant", content }, finish_reason = finish } },
        }) + "\n\n";

    private static int IndexOfBlankLine(List<byte> bytes)
    {
        for (var i = 0; i + 3 < bytes.Count; i++)
        {
            if (bytes[i] == '\r' && bytes[i + 1] == '\n' && bytes[i + 2] == '\r' && bytes[i + 3] == '\n') return i;
        }

        return -1;
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_sockets)
        {
            foreach (var socket in _sockets) socket.Dispose();
        }

        _stop.Dispose();
    }
}
