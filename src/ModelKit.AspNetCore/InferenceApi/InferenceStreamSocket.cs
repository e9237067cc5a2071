using System.Net.WebSockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelKit.Text;

namespace ModelKit.AspNetCore.InferenceApi;

/// <summary>
/// Seed 003's streaming inference over a WebSocket (<c>GET /inference/stream</c>; the seed names the feature, not its
/// path or messages). The client sends JSON text messages with the seed's names — <c>{"type": "generate", "id",
/// "task": "text-generation" | "chat", "engine", "model_name", "data": {"prompt"} | {"messages"}, "options": {max_tokens,
/// temperature, top_p, top_k, n, stop, seed, presence_penalty, frequency_penalty}}</c> and <c>{"type": "cancel", "id"}</c>
/// — and gets, per request id, <c>delta</c> messages as text is generated (a choice's last one with its
/// <c>finish_reason</c>), then <c>done</c> with the usage and <c>processing_time</c>, or <c>error</c> in the seed's error
/// detail, or <c>cancelled</c>. Requests on one socket run concurrently; closing the socket cancels them.
/// </summary>
internal static class InferenceStreamSocket
{
    private const int MaxMessageBytes = 1 << 20;

    public static async Task<IResult> RunAsync(HttpContext context, CancellationToken cancellationToken)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw new InvalidInputException("GET /inference/stream is a WebSocket: connect with an upgrade request (ws://…/inference/stream) and send 'generate' messages.");
        }

        var service = TextGenerations.ServiceOf(context); // 501 before the upgrade when the host has no text backend
        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        using var session = new Session(socket, context, service);
        await session.RunAsync(cancellationToken);
        return Results.Empty;
    }

    private sealed class Session(WebSocket socket, HttpContext context, ITextGenerationService service) : IDisposable
    {
        private readonly SemaphoreSlim _sending = new(1, 1);
        private readonly Dictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
        private readonly List<Task> _tasks = [];
        private readonly TimeProvider _time = context.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System;

        public async Task RunAsync(CancellationToken aborted)
        {
            using var closing = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            try
            {
                while (await ReceiveAsync(closing.Token) is { } message)
                {
                    Handle(message, closing.Token);
                }

                if (socket.State == WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException)
            {
                // The client went away.
            }
            finally
            {
                await closing.CancelAsync();
                await Task.WhenAll(_tasks);
            }
        }

        public void Dispose() => _sending.Dispose();

        // One whole text message, or null when the client closes.
        private Task<byte[]?> ReceiveAsync(CancellationToken cancellationToken) => WebSocketMessages.ReceiveAsync(socket, MaxMessageBytes, cancellationToken);

        private void Handle(byte[] message, CancellationToken closing)
        {
            StreamSocketRequest? request = null;
            try
            {
                request = JsonSerializer.Deserialize<StreamSocketRequest>(message, ModelKitJson.Options)
                    ?? throw new InvalidInputException("A message must be a JSON object.");
                var id = string.IsNullOrEmpty(request.Id) ? throw new InvalidInputException("'id' is required: the client's name for the request, echoed on every answer.") : request.Id;
                switch (request.Type ?? "generate")
                {
                    case "cancel":
                        lock (_running)
                        {
                            if (_running.TryGetValue(id, out var running)) running.Cancel();
                        }

                        return;
                    case "generate":
                        var generation = ToRequest(request);
                        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(closing);
                        lock (_running)
                        {
                            if (!_running.TryAdd(id, cancellation))
                            {
                                cancellation.Dispose();
                                throw new InvalidInputException($"'id' '{ClientText.Quote(id, 64)}' is already running on this socket; give each request its own id.");
                            }

                            _tasks.Add(GenerateAsync(id, generation, cancellation));
                        }

                        return;
                    default:
                        throw new InvalidInputException($"'type' '{ClientText.Quote(request.Type, 20)}' is not a message of this socket: send 'generate' or 'cancel'.");
                }
            }
            catch (JsonException ex)
            {
                _tasks.Add(SendErrorAsync(request?.Id, new InvalidInputException($"The message is not valid JSON for this socket{(ex.Path is { Length: > 1 } p ? " at " + p : string.Empty)}.")));
            }
            catch (ModelKitException ex)
            {
                _tasks.Add(SendErrorAsync(request?.Id, ex));
            }
        }

        private static TextGenerationRequest ToRequest(StreamSocketRequest request)
        {
            UnsupportedEngineException.Check(request.Engine);
            if (string.IsNullOrWhiteSpace(request.ModelName)) throw new InvalidInputException("'model_name' is required: the id of a registered decoder.");

            // data and options side by side are the body of OpenAI's chat or completions request (the same fields).
            var body = new JsonObject();
            foreach (var (part, name) in new[] { (request.Options, "options"), (request.Data, "data") })
            {
                if (part is not { } element || element.ValueKind == JsonValueKind.Null) continue;
                if (element.ValueKind != JsonValueKind.Object) throw new InvalidInputException($"'{name}' must be a JSON object.");
                foreach (var property in element.EnumerateObject()) body[property.Name] = JsonNode.Parse(property.Value.GetRawText());
            }

            body.Remove("stream");
            body.Remove("stream_options");
            body.Remove("model");
            return request.Task switch
            {
                "chat" or "chat-completion" or "conversational" => ChatBodies.ToRequest(request.ModelName, body.Deserialize<ChatCompletionBody>(ModelKitJson.Options)!),
                null or "text-generation" or "completion" => ChatBodies.ToRequest(request.ModelName, body.Deserialize<CompletionBody>(ModelKitJson.Options)!),
                _ => throw new UnsupportedTaskException(
                    $"'task' '{ClientText.Quote(request.Task, 32)}' does not stream; this socket streams 'text-generation' (data.prompt) and 'chat' (data.messages)."),
            };
        }

        private async Task GenerateAsync(string id, TextGenerationRequest request, CancellationTokenSource cancellation)
        {
            await Task.Yield(); // the receive loop goes on
            var started = _time.GetTimestamp();
            try
            {
                await foreach (var update in service.GenerateStreamingAsync(request, cancellation.Token))
                {
                    if (update.Usage is { } usage)
                    {
                        await SendAsync(new StreamSocketMessage("done", id)
                        {
                            Model = update.ModelId,
                            ModelVersion = update.Version,
                            Usage = new CompletionUsage(usage.PromptTokens, usage.CompletionTokens, usage.TotalTokens),
                            ProcessingTime = Math.Round(_time.GetElapsedTime(started).TotalSeconds, 6),
                        });
                    }
                    else if (update.Text.Length > 0 || update.FinishReason is not null)
                    {
                        await SendAsync(new StreamSocketMessage("delta", id) { Index = update.ChoiceIndex, Text = update.Text, FinishReason = update.FinishReason });
                    }
                }
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                if (socket.State == WebSocketState.Open) await SendAsync(new StreamSocketMessage("cancelled", id));
            }
            catch (ModelKitException ex)
            {
                await SendErrorAsync(id, ex);
            }
            finally
            {
                lock (_running) _running.Remove(id);
                cancellation.Dispose();
            }
        }

        private Task SendErrorAsync(string? id, ModelKitException error)
        {
            var code = InferenceApiErrors.SeedCode(error.ErrorCode);
            var details = new Dictionary<string, object?>(StringComparer.Ordinal);
            if (code != error.ErrorCode) details["modelkit_code"] = error.ErrorCode;
            if (ModelKitProblems.RetryAfterSeconds(error) is { } seconds) details["retry_after"] = seconds;
            return SendAsync(new StreamSocketMessage("error", id)
            {
                Error = new InferenceErrorDetail(error is UnsupportedEngineException ? "UnsupportedEngineError" : InferenceApiErrors.TypeOf(code), ModelKitProblems.Bounded(error.Message), code, details),
            });
        }

        private async Task SendAsync(StreamSocketMessage message)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(message, ModelKitJson.Options);
            await _sending.WaitAsync();
            try
            {
                if (socket.State == WebSocketState.Open) await socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
            }
            catch (WebSocketException)
            {
                // The client went away; the generation stops with the socket.
            }
            finally
            {
                _sending.Release();
            }
        }
    }
}

/// <summary>A client's message on the streaming socket (seed 003's names).</summary>
internal sealed record StreamSocketRequest
{
    /// <summary><c>generate</c> (default) or <c>cancel</c>.</summary>
    public string? Type { get; init; }

    /// <summary>The client's name for the request, echoed on every answer to it.</summary>
    public string? Id { get; init; }

    /// <summary><c>text-generation</c> (default; <c>data.prompt</c>) or <c>chat</c> (<c>data.messages</c>).</summary>
    public string? Task { get; init; }

    /// <summary><c>onnxruntime</c> (or <c>onnx</c>, or none).</summary>
    public string? Engine { get; init; }

    /// <summary>The decoder's model id.</summary>
    public string? ModelName { get; init; }

    /// <summary><c>{"prompt": …}</c> or <c>{"messages": […]}</c>.</summary>
    public JsonElement? Data { get; init; }

    /// <summary>OpenAI's sampling fields: <c>max_tokens</c>, <c>temperature</c>, <c>top_p</c>, <c>top_k</c>, <c>n</c>, <c>stop</c>, <c>seed</c> ….</summary>
    public JsonElement? Options { get; init; }
}

/// <summary>A server message on the streaming socket: <c>delta</c>, <c>done</c>, <c>error</c> or <c>cancelled</c>, for request <see cref="Id"/>.</summary>
internal sealed record StreamSocketMessage(string Type, string? Id)
{
    /// <summary><c>delta</c>: the choice.</summary>
    public int? Index { get; init; }

    /// <summary><c>delta</c>: the text added.</summary>
    public string? Text { get; init; }

    /// <summary><c>delta</c>: set on the choice's last delta (<c>stop</c> or <c>length</c>).</summary>
    public string? FinishReason { get; init; }

    /// <summary><c>done</c>: the model and version that ran.</summary>
    public string? Model { get; init; }

    /// <inheritdoc cref="Model"/>
    public string? ModelVersion { get; init; }

    /// <summary><c>done</c>: tokens read and written.</summary>
    public CompletionUsage? Usage { get; init; }

    /// <summary><c>done</c>: seconds from the request to its last token.</summary>
    public double? ProcessingTime { get; init; }

    /// <summary><c>error</c>: the seed's error detail.</summary>
    public InferenceErrorDetail? Error { get; init; }
}
