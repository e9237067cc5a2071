using System.Net.WebSockets;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using ModelKit.Downloads;

namespace ModelKit.AspNetCore;

/// <summary>
/// Seed 004's <c>ws /ws/downloads</c>: download progress pushed as JSON text messages. <c>?task_id=…</c> (repeatable)
/// watches those tasks, none watches all. The server sends <c>snapshot</c> (each watched task when watching begins),
/// <c>status</c> (a change of state), <c>progress</c> (about twice a second while downloading) — each with the task in the
/// shape of <c>GET /api/downloads/{task_id}</c> — and <c>deleted</c> (<c>task_id</c>). The client may send
/// <c>{"type": "subscribe", "task_id"}</c> (no <c>task_id</c>: all tasks), <c>{"type": "unsubscribe", "task_id"}</c> and
/// <c>{"type": "ping"}</c> (answered <c>pong</c>); a bad message is answered <c>error</c> with seed 004's code, and the
/// socket stays open. Browsers authenticate with a ticket (<c>?ticket=…</c> from <c>POST /api/ws/ticket</c>).
/// </summary>
internal static class DownloadProgressSocket
{
    private const int MaxMessageBytes = 4096;

    public static async Task<IResult> RunAsync(HttpContext context, IDownloadManager downloads, CancellationToken cancellationToken)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new InvalidInputException("GET /ws/downloads is a WebSocket: connect with an upgrade request (ws://…/ws/downloads, optionally ?task_id=…).");
        }

        var watched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in context.Request.Query["task_id"])
        {
            if (string.IsNullOrEmpty(id)) continue;
            await downloads.GetAsync(id, cancellationToken); // TASK_NOT_FOUND before the upgrade
            watched.Add(id);
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var session = new Session(socket, downloads, watched.Count == 0 ? null : watched);
        await session.RunAsync(cancellationToken);
        return Results.Empty;
    }

    private sealed class Session(WebSocket socket, IDownloadManager downloads, HashSet<string>? watched) : IDisposable
    {
        private readonly SemaphoreSlim _sending = new(1, 1);
        private readonly Lock _gate = new();
        // Watching all tasks (watched null): the ones unsubscribed from.
        private readonly HashSet<string> _excluded = new(StringComparer.Ordinal);

        public async Task RunAsync(CancellationToken aborted)
        {
            using var closing = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            var pushing = PushAsync(closing.Token);
            try
            {
                while (await ReceiveAsync(closing.Token) is { } message) await HandleAsync(message, closing.Token);
                if (socket.State == WebSocketState.CloseReceived) await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
            {
                // The client went away.
            }
            finally
            {
                await closing.CancelAsync();
                try
                {
                    await pushing;
                }
                catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
                {
                    // Ended with the socket.
                }
            }
        }

        public void Dispose() => _sending.Dispose();

        private async Task PushAsync(CancellationToken cancellationToken)
        {
            await foreach (var e in downloads.WatchAsync(null, cancellationToken))
            {
                if (!Watches(e.Task.Id)) continue;
                await SendAsync(Message(e), cancellationToken);
            }
        }

        private bool Watches(string taskId)
        {
            lock (_gate) return watched is null ? !_excluded.Contains(taskId) : watched.Contains(taskId);
        }

        private async Task HandleAsync(byte[] message, CancellationToken cancellationToken)
        {
            ClientMessage? request;
            try
            {
                request = JsonSerializer.Deserialize<ClientMessage>(message, ModelKitJson.Options);
            }
            catch (JsonException)
            {
                request = null;
            }

            switch (request?.Type)
            {
                case "ping":
                    await SendAsync(new Dictionary<string, object?> { ["type"] = "pong", ["timestamp"] = DateTimeOffset.UtcNow }, cancellationToken);
                    break;
                case "subscribe" when request.TaskId is null:
                    lock (_gate)
                    {
                        watched = null;
                        _excluded.Clear();
                    }

                    await SendAsync(new Dictionary<string, object?> { ["type"] = "subscribed", ["task_id"] = null }, cancellationToken);
                    foreach (var each in (await downloads.ListAsync(new DownloadQuery { Limit = 1000 }, cancellationToken)).Items)
                    {
                        await SendAsync(Message(new DownloadEvent(DownloadEventKind.Snapshot, each)), cancellationToken);
                    }

                    break;
                case "subscribe":
                    DownloadTaskInfo task;
                    try
                    {
                        task = await downloads.GetAsync(request.TaskId, cancellationToken);
                    }
                    catch (DownloadNotFoundException ex)
                    {
                        await SendErrorAsync(LlmManager.TaskNotFound, ex.Message, cancellationToken);
                        break;
                    }

                    lock (_gate)
                    {
                        watched?.Add(task.Id);
                        _excluded.Remove(task.Id);
                    }

                    await SendAsync(new Dictionary<string, object?> { ["type"] = "subscribed", ["task_id"] = task.Id }, cancellationToken);
                    await SendAsync(Message(new DownloadEvent(DownloadEventKind.Snapshot, task)), cancellationToken);
                    break;
                case "unsubscribe" when request.TaskId is not null:
                    lock (_gate)
                    {
                        if (watched is null) _excluded.Add(request.TaskId);
                        else watched.Remove(request.TaskId);
                    }

                    await SendAsync(new Dictionary<string, object?> { ["type"] = "unsubscribed", ["task_id"] = request.TaskId }, cancellationToken);
                    break;
                default:
                    await SendErrorAsync(LlmManager.InvalidAction,
                        "Send a JSON text message: {\"type\": \"subscribe\", \"task_id\": \"…\"}, {\"type\": \"unsubscribe\", \"task_id\": \"…\"} or {\"type\": \"ping\"}.", cancellationToken);
                    break;
            }
        }

        private static Dictionary<string, object?> Message(DownloadEvent e) => e.Kind switch
        {
            DownloadEventKind.Deleted => new() { ["type"] = "deleted", ["task_id"] = e.Task.Id, ["timestamp"] = DateTimeOffset.UtcNow },
            _ => new()
            {
                ["type"] = e.Kind switch { DownloadEventKind.Snapshot => "snapshot", DownloadEventKind.Progress => "progress", _ => "status" },
                ["task"] = LlmDownloadTask.Of(e.Task),
                ["timestamp"] = DateTimeOffset.UtcNow,
            },
        };

        private Task SendErrorAsync(string code, string message, CancellationToken cancellationToken) =>
            SendAsync(new Dictionary<string, object?> { ["type"] = "error", ["error"] = code, ["message"] = ModelKitProblems.Bounded(message), ["timestamp"] = DateTimeOffset.UtcNow }, cancellationToken);

        private async Task SendAsync(Dictionary<string, object?> message, CancellationToken cancellationToken)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(message, ModelKitJson.Options);
            await _sending.WaitAsync(cancellationToken);
            try
            {
                await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            }
            finally
            {
                _sending.Release();
            }
        }

        // One whole text message, or null when the client closes.
        private Task<byte[]?> ReceiveAsync(CancellationToken cancellationToken) => WebSocketMessages.ReceiveAsync(socket, MaxMessageBytes, cancellationToken);
    }

    private sealed record ClientMessage(string? Type, string? TaskId);
}
