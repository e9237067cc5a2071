using System.Net.WebSockets;

namespace ModelKit.AspNetCore;

/// <summary>Reading the JSON text messages of ModelKit's WebSockets (seed 003's stream, seed 004's download progress).</summary>
internal static class WebSocketMessages
{
    /// <summary>
    /// One whole message, or null when the client closes; a message longer than <paramref name="maxBytes"/> closes the
    /// socket with 1009 (message too big) and reads as null.
    /// </summary>
    public static async Task<byte[]?> ReceiveAsync(WebSocket socket, int maxBytes, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(8192, maxBytes + 1)];
        using var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close) return null;
            message.Write(buffer, 0, result.Count);
            if (message.Length > maxBytes)
            {
                await socket.CloseAsync(WebSocketCloseStatus.MessageTooBig, $"A message may hold at most {maxBytes} bytes.", CancellationToken.None);
                return null;
            }

            if (result.EndOfMessage) return message.ToArray();
        }
    }
}
